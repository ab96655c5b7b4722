#!/usr/bin/env node
import { ApiClient } from './api-client';
import { parseCommandLine } from './args';
import { runCampaignCommand } from './campaign-commands';
import { ExitCode, type CliIo } from './cli-io';
import type { CommandContext } from './command-context';
import { CliError, UsageError } from './errors';
import { runUpgradeCommand } from './upgrade-commands';
import { usageText } from './usage';

export type { CliIo } from './cli-io';

/**
 * Runs the `ota` command line and returns its exit code. Expected failures (usage, input files, the API)
 * are printed as one message without a stack trace; anything else is a bug and is thrown.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const commandLine = parseCommandLine(argv, io.env);
    if (!('options' in commandLine)) {
      io.stdout.write(`${usageText(commandLine.command.topic)}\n`);
      return ExitCode.OK;
    }

    const { command, options } = commandLine;
    const context: CommandContext = {
      api: new ApiClient(options.apiUrl, { timeoutMs: options.timeoutMs, signal: io.signal, token: options.token }),
      io,
      json: options.json,
    };
    if (command.kind.startsWith('campaign-')) return await runCampaignCommand(command as Parameters<typeof runCampaignCommand>[0], context);
    return await runUpgradeCommand(command as Parameters<typeof runUpgradeCommand>[0], context);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    io.stderr.write(`ota: ${error.message}\n`);
    if (error instanceof UsageError) io.stderr.write(`run '${error.helpCommand}' for usage\n`);
    return error.exitCode;
  }
}

if (require.main === module) {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    // The first Ctrl-C stops the command cleanly; a second one exits at once in case stopping hangs.
    if (controller.signal.aborted) process.exit(ExitCode.INTERRUPTED);
    controller.abort();
  });
  // Output piped into `head` closes early; that is not an error of this command.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.OK);
    throw error;
  });

  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal };
  run(process.argv.slice(2), io).then(
    (code) => {
      // exitCode instead of exit(), so output still buffered for a pipe is written first.
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ota: unexpected error, please report it with this output: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = ExitCode.FAILURE;
    },
  );
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run, type CliIo } from '../../cli/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Columns of a fake terminal; stdout is not a terminal when left out. */
  ttyColumns?: number;
  signal?: AbortSignal;
  /** Called with the output so far after each write to stdout. */
  onStdout?: (stdout: string) => void;
}

/** Runs the CLI in this process, capturing its output; the environment holds only what `env` sets. */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: {
      write(text: string) {
        stdout += text;
        options.onStdout?.(stdout);
      },
      isTTY: options.ttyColumns !== undefined,
      columns: options.ttyColumns,
    },
    stderr: {
      write(text: string) {
        stderr += text;
      },
    },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

/** Creates a temporary folder for input files, which `remove` deletes. */
export async function tempFolder(): Promise<{ dir: string; write(name: string, text: string): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ota-cli-'));
  return {
    dir,
    async write(name, text) {
      const file = path.join(dir, name);
      await writeFile(file, text);
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Returns a loopback port that nothing listens on: one the kernel just handed out and that was closed again. */
export async function unusedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('the test server has no port');
  return address.port;
}

import { expectKeys } from './api-client';
import type { DeviceUpgradeJson, UpgradeStartedJson } from './api-types';
import type { Command } from './args';
import { ExitCode } from './cli-io';
import { printJson, type CommandContext } from './command-context';
import { formatDuration, formatFields, formatTime, NONE } from './format';

type UpgradeCommand = Extract<Command, { kind: `upgrade-${string}` }>;

/** Runs one `ota upgrade` command and returns the exit code; API failures are thrown as CliError. */
export async function runUpgradeCommand(command: UpgradeCommand, context: CommandContext): Promise<ExitCode> {
  const path = `/ota/${encodeURIComponent(command.productName)}/${encodeURIComponent(command.deviceName)}`;
  const device = `${command.productName}/${command.deviceName}`;

  if (command.kind === 'upgrade-start') {
    const { body } = await context.api.post<UpgradeStartedJson>(path, command.firmware);
    expectKeys(context.api, 'POST /ota/{product}/{device}', body, ['workflowId', 'runId']);
    if (context.json) printJson(context, body);
    else {
      const { type, version } = command.firmware;
      context.io.stdout.write(`started the upgrade of ${device} to ${type} ${version}: workflow ${body.workflowId}, run ${body.runId}\n`);
      context.io.stdout.write(`follow it with: ota upgrade show ${command.productName} ${command.deviceName}\n`);
    }
    return ExitCode.OK;
  }

  const { body } = await context.api.get<DeviceUpgradeJson>(path);
  expectKeys(context.api, 'GET /ota/{product}/{device}', body, ['progress', 'upgrade']);
  if (context.json) printJson(context, body);
  else context.io.stdout.write(`${formatDeviceUpgrade(device, body)}\n`);
  return ExitCode.OK;
}

/** Formats a device's report and upgrade for `ota upgrade show`. */
export function formatDeviceUpgrade(device: string, body: DeviceUpgradeJson): string {
  const report =
    body.progress === null
      ? 'none'
      : `${body.type ?? '?'} ${body.version ?? '?'} at progress ${formatProgress(body.progress)}${body.desc ? ` (${body.desc})` : ''}`;
  const fields: [string, string][] = [['last report', report]];
  const upgrade = body.upgrade;
  if (upgrade === null) {
    fields.push(['upgrade', 'none: the device has never been upgraded']);
    return `device ${device}\n${formatFields(fields)}`;
  }

  fields.push(['workflow', `${upgrade.workflowId}, run ${upgrade.runId} (${upgrade.status})`]);
  const state = upgrade.state;
  if (state === null) {
    fields.push(['phase', 'unknown: no worker answered the state query']);
  } else {
    const reason = state.failureReason ?? state.skipReason;
    fields.push(
      ['target', `${state.firmwareType} ${state.targetVersion}`],
      ['phase', `${state.phase}${reason ? ` (${reason})` : ''}`],
      ['attempt', `${state.attempt} of ${state.maxAttempts}`],
      ['progress', state.progress === null ? NONE : formatProgress(state.progress)],
      ['reported version', state.reportedVersion ?? NONE],
      ['campaign', state.campaignWorkflowId ?? NONE],
      ['started', formatTime(state.startedAt)],
      ['ended', state.endedAt === null ? NONE : `${formatTime(state.endedAt)} (took ${formatDuration(state.endedAt - state.startedAt)})`],
    );
    for (const attempt of state.attempts) {
      const outcome = attempt.reason ?? (attempt.endedAt === null ? 'running' : 'succeeded');
      const progress = attempt.lastProgress === null ? '' : `, last progress ${formatProgress(attempt.lastProgress)}`;
      fields.push([`attempt ${attempt.attempt}`, `${outcome}${progress}, started ${formatTime(attempt.startedAt)}`]);
    }
  }
  if (upgrade.failure) fields.push(['failure', upgrade.failure]);
  return `device ${device}\n${formatFields(fields)}`;
}

// Negative progress values are the error codes of the IotHub protocol.
const PROGRESS_ERRORS: Record<number, string> = { [-1]: 'download error', [-2]: 'md5 error', [-3]: 'install error', [-4]: 'device error' };

function formatProgress(progress: number): string {
  return progress < 0 ? `${progress} (${PROGRESS_ERRORS[progress] ?? 'error'})` : `${progress}%`;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, ApiTimeoutError, ApiUnreachableError, expectKeys } from './api-client';
import type { CampaignJson } from './api-types';
import { ExitCode } from './cli-io';
import { campaignPath, type CommandContext } from './command-context';
import { InterruptedError } from './errors';
import { formatDuration, formatOutcomeCounts, formatPercent } from './format';
import { ProgressDisplay } from './progress-bar';

/** Failed reads in a row after which `watch` gives up; a restart of the API or Temporal takes fewer. */
export const MAX_CONSECUTIVE_READ_FAILURES = 5;

// Statuses of a workflow that has not ended: a run that continued as new is followed by the next run,
// and a paused workflow (Temporal's own pause, not the campaign's) resumes later.
const OPEN_WORKFLOW_STATUSES = new Set(['RUNNING', 'CONTINUED_AS_NEW', 'PAUSED']);

/**
 * Reads the campaign every `intervalMs` and shows its progress until its workflow ends, then prints the
 * final state. Returns 0 when the campaign completed, 1 otherwise, and 130 when Ctrl-C stopped watching.
 * The first read must succeed. A later read that fails for a reason that may pass (no connection, a
 * timeout or a 5xx) is retried, up to MAX_CONSECUTIVE_READ_FAILURES failures in a row.
 */
export async function watchCampaign(id: string, intervalMs: number, context: CommandContext): Promise<ExitCode> {
  const { api, io } = context;
  const display = new ProgressDisplay(io.stdout, id);
  let failures = 0;
  let readOnce = false;

  try {
    for (;;) {
      let campaign: CampaignJson | undefined;
      try {
        campaign = (await api.get<CampaignJson>(campaignPath(id))).body;
        expectKeys(api, 'GET /campaigns/{id}', campaign, ['view', 'workflowStatus']);
        failures = 0;
      } catch (error) {
        if (!readOnce || !isTransient(error)) throw error;
        failures += 1;
        if (failures >= MAX_CONSECUTIVE_READ_FAILURES) throw error;
        display.detach();
        io.stderr.write(`ota: reading campaign ${id} failed (${failures} of ${MAX_CONSECUTIVE_READ_FAILURES} tries in a row), trying again: ${(error as Error).message}\n`);
      }

      if (campaign !== undefined) {
        readOnce = true;
        display.update(campaign.view);
        if (!OPEN_WORKFLOW_STATUSES.has(campaign.workflowStatus ?? '')) return reportEnd(id, campaign, context);
      }
      await sleep(intervalMs, undefined, { signal: io.signal });
    }
  } catch (error) {
    const interrupted = error instanceof InterruptedError || (error as Error).name === 'AbortError';
    if (!interrupted) throw error;
    io.stderr.write(`stopped watching campaign ${id}; the campaign itself keeps running. Watch it again with: ota campaign watch ${id}\n`);
    return ExitCode.INTERRUPTED;
  }
}

/** Errors that may pass by themselves, such as the API restarting or Temporal being briefly unavailable. */
function isTransient(error: unknown): boolean {
  if (error instanceof ApiUnreachableError || error instanceof ApiTimeoutError) return true;
  return error instanceof ApiError && error.status >= 500;
}

/** Prints how the campaign ended and returns 0 only for a completed campaign that started every device. */
function reportEnd(id: string, campaign: CampaignJson, context: CommandContext): ExitCode {
  const { view, workflowStatus } = campaign;
  const out = context.io.stdout;
  if (view === null) {
    out.write(`campaign ${id} ended without reporting a state (workflow ${workflowStatus ?? 'not found'})\n`);
    return ExitCode.FAILURE;
  }

  const took = view.startedAt !== null && view.endedAt !== null ? `, took ${formatDuration(view.endedAt - view.startedAt)}` : '';
  const details = `${formatOutcomeCounts(view.counts)} (${formatPercent(view.percentDone)} done${took})`;
  // A workflow that failed, was terminated or timed out never reached a final state of its own.
  const workflowEnded = workflowStatus === null || workflowStatus === 'COMPLETED';
  if (!workflowEnded) {
    out.write(`campaign ${id} did not complete: its workflow ended as ${workflowStatus} in state ${view.state}; ${details}\n`);
    return ExitCode.FAILURE;
  }
  switch (view.state) {
    case 'completed':
      // A retry round completes once its devices ended, while devices that an aborted or cancelled earlier
      // round never started stay untouched.
      if ((view.notStarted ?? 0) > 0) {
        out.write(`campaign ${id} completed round ${view.round}, but ${view.notStarted} devices were never started, because an earlier round stopped early; ${details}\n`);
        return ExitCode.FAILURE;
      }
      out.write(`campaign ${id} completed: ${details}\n`);
      return ExitCode.OK;
    case 'aborted':
      out.write(`campaign ${id} aborted: ${view.abortReason ?? 'no reason recorded'}; ${details}\n`);
      return ExitCode.FAILURE;
    default:
      out.write(`campaign ${id} ended ${view.state}: ${details}\n`);
      return ExitCode.FAILURE;
  }
}

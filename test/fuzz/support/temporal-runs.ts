import type { Client } from '@temporalio/client';
import { upgradeWorkflowId, type DeviceRef } from '../../../protocol';
import type { UpgradeState } from '../../../workflows/upgrade-tracker';
import { waitFor } from '../../support/worker-harness';

export interface RunSummary {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
}

/** Lists every run on a task queue, as Temporal's visibility store returns them. */
export async function listRuns(client: Client, taskQueue: string): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  for await (const execution of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
    runs.push({ workflowId: execution.workflowId, runId: execution.runId, type: execution.type, status: execution.status.name });
  }
  return runs;
}

/**
 * Lists the runs on a task queue once two listings a second apart agree, because the visibility store
 * may show a run that just started a moment later.
 */
export async function listRunsSettled(client: Client, taskQueue: string): Promise<RunSummary[]> {
  let previous = '';
  return waitFor(
    `a settled list of the runs on ${taskQueue}`,
    async () => {
      const runs = await listRuns(client, taskQueue);
      const key = runs.map((run) => `${run.runId}:${run.status}`).sort().join(',');
      const settled = key === previous;
      previous = key;
      if (!settled) await new Promise((resolve) => setTimeout(resolve, 1_000));
      return settled ? runs : undefined;
    },
    60_000,
  );
}

/** Terminates every running workflow on a task queue, so that none of the fuzz runs outlives the test. */
export async function terminateRunning(client: Client, taskQueue: string): Promise<void> {
  const running = (await listRuns(client, taskQueue)).filter((run) => run.status === 'RUNNING');
  await Promise.all(
    running.map((run) =>
      client.workflow
        .getHandle(run.workflowId, run.runId)
        .terminate('fuzz test done')
        .catch(() => undefined),
    ),
  );
}

/** Counts the signals in the history of a workflow's latest run, or of the given run. */
export async function countSignals(client: Client, workflowId: string, runId?: string): Promise<number> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return history.events?.filter((event) => event.workflowExecutionSignaledEventAttributes).length ?? 0;
}

/** Queries the state of a device's running upgrade. */
export function queryUpgradeState(client: Client, ref: DeviceRef): Promise<UpgradeState> {
  return client.workflow.getHandle(upgradeWorkflowId(ref)).query<UpgradeState>('upgradeState');
}

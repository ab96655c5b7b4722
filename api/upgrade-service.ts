import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { upgradeWorkflowId, type DeviceRef } from '../protocol';
import { withTemporalDeadline } from './temporal-deadline';
import { queryWorkflow } from '../temporal/query-workflow';
import { readClosedUpgradeState, readRunFailure, startUpgradeWorkflow, type StartedUpgrade, type UpgradeRunView } from '../temporal/upgrade-runs';
import { upgradeStateQuery } from '../workflows/upgrade';
import type { UpgradeInput } from '../workflows/upgrade-input';
import type { UpgradeState } from '../workflows/upgrade-tracker';

export { UpgradeAlreadyRunningError } from '../temporal/upgrade-runs';

// A query needs a running worker. Without one, the API returns the status alone after this long.
const QUERY_TIMEOUT_MS = 5_000;

/** Starts and reads device upgrade workflows. */
export class UpgradeService {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  start(input: UpgradeInput): Promise<StartedUpgrade> {
    return withTemporalDeadline(this.client, () => startUpgradeWorkflow(this.client, this.taskQueue, input));
  }

  /** Returns the device's latest upgrade, or null when it never had one. */
  latest(ref: DeviceRef): Promise<UpgradeRunView | null> {
    return withTemporalDeadline(this.client, () => this.readLatest(ref));
  }

  private async readLatest(ref: DeviceRef): Promise<UpgradeRunView | null> {
    const handle = this.client.workflow.getHandle(upgradeWorkflowId(ref));
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
    const view: UpgradeRunView = { workflowId: description.workflowId, runId: description.runId, status: description.status.name, state: null, failure: null };
    // A closed upgrade's state is in its result or failure details, which need no worker to read.
    view.state = await readClosedUpgradeState(this.client, view.workflowId, view.runId, view.status);
    // A running, cancelled or terminated run answers a query, which a worker replays to answer.
    if (view.state === null) view.state = await this.queryState(this.client.workflow.getHandle(view.workflowId, view.runId));
    if (view.status === 'FAILED') view.failure = await readRunFailure(this.client, view.workflowId, view.runId);
    return view;
  }

  private async queryState(run: ReturnType<Client['workflow']['getHandle']>): Promise<UpgradeState | null> {
    try {
      return await queryWorkflow(this.client, run, upgradeStateQuery, QUERY_TIMEOUT_MS);
    } catch {
      // No worker replied in time, or the workflow closed meanwhile. The caller still gets the status.
      return null;
    }
  }
}

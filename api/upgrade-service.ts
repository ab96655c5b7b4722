import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { upgradeWorkflowId, type DeviceRef } from '../protocol';
import { OtaCampaign, OtaDevice, OtaProduct, OtaState, OtaTargetVersion } from '../workflows/search-attributes';
import { upgradeDevice, upgradeStateQuery } from '../workflows/upgrade';
import type { UpgradeInput } from '../workflows/upgrade-input';
import type { UpgradeState } from '../workflows/upgrade-tracker';

/** Raised when a device already has a running upgrade. */
export class UpgradeAlreadyRunningError extends Error {
  constructor(readonly workflowId: string) {
    super(`an upgrade of this device is already running (workflow ${workflowId})`);
    this.name = 'UpgradeAlreadyRunningError';
  }
}

export interface StartedUpgrade {
  workflowId: string;
  runId: string;
}

/** Latest upgrade of a device as Temporal records it, with the workflow's own state when known. */
export interface UpgradeView {
  workflowId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  state: UpgradeState | null;
}

// A query needs a running worker. Without one, the API returns the status alone after this long.
const QUERY_TIMEOUT_MS = 5_000;

/** Starts and reads device upgrade workflows. */
export class UpgradeService {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async start(input: UpgradeInput): Promise<StartedUpgrade> {
    const workflowId = upgradeWorkflowId(input);
    try {
      const handle = await this.client.workflow.start(upgradeDevice, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [input],
        // One running upgrade per device: a second start fails instead of joining or replacing it,
        // while a finished upgrade does not block the next one.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [
          { key: OtaProduct, value: input.productName },
          { key: OtaDevice, value: input.deviceName },
          { key: OtaTargetVersion, value: input.firmware.version },
          { key: OtaState, value: 'publishing' },
          ...(input.campaignWorkflowId ? [{ key: OtaCampaign, value: input.campaignWorkflowId }] : []),
        ],
        staticSummary: `Upgrade ${input.productName}/${input.deviceName} to ${input.firmware.type} ${input.firmware.version}`,
        staticDetails: `package ${input.firmware.url} (${input.firmware.size} bytes, md5 ${input.firmware.md5}); ` +
          `up to ${input.retry.maxAttempts} attempt(s), stall timeout ${input.timeouts.stallMs} ms`,
      });
      return { workflowId, runId: handle.firstExecutionRunId };
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) throw new UpgradeAlreadyRunningError(workflowId);
      throw error;
    }
  }

  /** Returns the device's latest upgrade, or null when it never had one. */
  async latest(ref: DeviceRef): Promise<UpgradeView | null> {
    const handle = this.client.workflow.getHandle(upgradeWorkflowId(ref));
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
    const view: UpgradeView = { workflowId: description.workflowId, runId: description.runId, status: description.status.name, state: null };
    const run = this.client.workflow.getHandle(description.workflowId, description.runId);

    // A closed upgrade's state is in its result or failure details, which need no worker to read.
    if (description.status.name === 'COMPLETED') {
      view.state = (await run.result()) as UpgradeState;
    } else if (description.status.name === 'FAILED') {
      view.state = await run.result().then(
        () => null,
        (error: unknown) => stateFromFailure(error),
      );
    } else {
      view.state = await this.queryState(run);
    }
    return view;
  }

  private async queryState(run: ReturnType<Client['workflow']['getHandle']>): Promise<UpgradeState | null> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => run.query(upgradeStateQuery));
    } catch {
      // No worker replied in time, or the workflow closed meanwhile. The caller still gets the status.
      return null;
    }
  }
}

function stateFromFailure(error: unknown): UpgradeState | null {
  if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
    const [state] = error.cause.details ?? [];
    if (state && typeof state === 'object') return state as UpgradeState;
  }
  return null;
}

import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { upgradeWorkflowId } from '../protocol/names';
import { OtaCampaign, OtaDevice, OtaProduct, OtaState, OtaTargetVersion } from '../workflows/search-attributes';
import { upgradeDevice } from '../workflows/upgrade';
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

/** Memo field with the campaign round that started an upgrade, to recognise a start retried by the same round. */
export const CAMPAIGN_ROUND_MEMO = 'campaignRound';

export interface StartUpgradeOptions {
  /** Round of the campaign that starts the upgrade, kept in the memo. */
  campaignRound?: number;
  /**
   * Requests an eager start: the server returns the first workflow task with the start response, and
   * the worker sharing the client's NativeConnection runs it without a trip through the task queue. The
   * server falls back to the task queue when the worker has no free slot.
   */
  eagerStart?: boolean;
}

/** Starts a device upgrade workflow, or raises UpgradeAlreadyRunningError when one runs. */
export async function startUpgradeWorkflow(
  client: Client,
  taskQueue: string,
  input: UpgradeInput,
  options: StartUpgradeOptions = {},
): Promise<StartedUpgrade> {
  const { campaignRound, eagerStart = false } = options;
  const workflowId = upgradeWorkflowId(input);
  try {
    const handle = await client.workflow.start(upgradeDevice, {
      workflowId,
      taskQueue,
      args: [input],
      // One running upgrade per device: a second start fails instead of joining or replacing it,
      // while a finished upgrade does not block the next one.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      requestEagerStart: eagerStart,
      typedSearchAttributes: [
        { key: OtaProduct, value: input.productName },
        { key: OtaDevice, value: input.deviceName },
        { key: OtaTargetVersion, value: input.firmware.version },
        { key: OtaState, value: 'publishing' },
        ...(input.campaignWorkflowId ? [{ key: OtaCampaign, value: input.campaignWorkflowId }] : []),
      ],
      memo: campaignRound === undefined ? undefined : { [CAMPAIGN_ROUND_MEMO]: campaignRound },
      staticSummary:
        `Upgrade ${input.productName}/${input.deviceName} to ${input.firmware.type} ${input.firmware.version}` +
        (input.campaignWorkflowId ? ` (${input.campaignWorkflowId})` : ''),
      staticDetails:
        `package ${input.firmware.url} (${input.firmware.size} bytes, md5 ${input.firmware.md5}); ` +
        `up to ${input.retry.maxAttempts} attempt(s), stall timeout ${input.timeouts.stallMs} ms`,
    });
    return { workflowId, runId: handle.firstExecutionRunId };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw new UpgradeAlreadyRunningError(workflowId);
    throw error;
  }
}

/** A device upgrade run as Temporal records it, with the workflow's own state when it can be read. */
export interface UpgradeRunView {
  workflowId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  state: UpgradeState | null;
  /** Message of the failure that ended a failed run, such as a rejected input; null otherwise. */
  failure: string | null;
}

/** Returns the message of the failure that ended a failed run. */
export async function readRunFailure(client: Client, workflowId: string, runId: string): Promise<string | null> {
  return client.workflow
    .getHandle(workflowId, runId)
    .result()
    .then(
      () => null,
      (error: unknown) => {
        if (error instanceof WorkflowFailedError) return error.cause?.message ?? error.message;
        return error instanceof Error ? error.message : String(error);
      },
    );
}

/**
 * Reads the final state of a closed upgrade run from its result or its failure details, which need no
 * worker. Returns null for a run that ended another way (terminated, timed out) or is still running.
 */
export async function readClosedUpgradeState(client: Client, workflowId: string, runId: string, status: WorkflowExecutionStatusName): Promise<UpgradeState | null> {
  const run = client.workflow.getHandle(workflowId, runId);
  if (status === 'COMPLETED') return (await run.result()) as UpgradeState;
  if (status !== 'FAILED') return null;
  return run.result().then(
    () => null,
    (error: unknown) => {
      if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
        const [state] = error.cause.details ?? [];
        if (state && typeof state === 'object') return state as UpgradeState;
      }
      return null;
    },
  );
}

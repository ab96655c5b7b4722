import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  getExternalWorkflowHandle,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { UpgradeActivities } from '../activities';
import { backoffDelayMs, FailureReason } from './failure-reason';
import type { UpgradeInput } from './upgrade-input';
import { checkedInput, VALIDATE_OPTIONS } from './input-validation';
import { deviceFinishedSignal } from './campaign';
import type { DeviceFinishedReport } from './campaign-types';
import { OtaAttempt, OtaFailureReason, OtaState } from './search-attributes';
import { UpgradeTracker, type ProgressSignal, type StatusSignal, type UpgradeState } from './upgrade-tracker';

/** A progress report of the device, sent by the bridge. */
export const progressReportedSignal = defineSignal<[ProgressSignal]>('progressReported');
/** A status report of the device, sent by the bridge. */
export const statusReportedSignal = defineSignal<[StatusSignal]>('statusReported');
/** The upgrade's state: phase, progress, attempts and failure reason. */
export const upgradeStateQuery = defineQuery<UpgradeState>('upgradeState');

/** Returned by a successful or skipped upgrade; a failed upgrade fails the workflow with the same state. */
export type UpgradeResult = UpgradeState;

/** Application failure type of an upgrade whose every attempt failed. */
export const UPGRADE_FAILED = 'UpgradeFailed';
/** Application failure type of a request the workflow cannot run. */
export const INVALID_UPGRADE_INPUT = 'InvalidUpgradeInput';

// Publishing waits for the broker's PUBACK. A broker that is down for a while is retried here, and an
// attempt that still cannot publish ends as publish_failed and follows the upgrade's retry policy.
const PUBLISH_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s' },
};
const READ_STATUS_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
};

const { publishOtaCommand, readDeviceStatus } = proxyActivities<UpgradeActivities>(PUBLISH_OPTIONS);
const { validateUpgradeInput } = proxyLocalActivities<UpgradeActivities>(VALIDATE_OPTIONS);

/**
 * Upgrades one device: publishes `$ota_upgrade`, follows the progress the device reports, verifies the
 * firmware_ver it comes back with, and retries failed attempts by the request's policy.
 */
export async function upgradeDevice(rawInput: UpgradeInput): Promise<UpgradeResult> {
  const input = await checkedInput(rawInput, validateUpgradeInput, {
    label: 'upgrade',
    type: INVALID_UPGRADE_INPUT,
    beforeFailure: () => upsertSearchAttributes([{ key: OtaState, value: 'failed' }]),
  });
  const tracker = new UpgradeTracker({
    productName: input.productName,
    deviceName: input.deviceName,
    campaignWorkflowId: input.campaignWorkflowId,
    targetVersion: input.firmware.version,
    firmwareType: input.firmware.type,
    maxAttempts: input.retry.maxAttempts,
    now: Date.now(),
  });
  const ids = { productName: input.productName, deviceName: input.deviceName, targetVersion: input.firmware.version };

  const publishState = createStatePublisher();
  setHandler(upgradeStateQuery, () => tracker.snapshot());
  setHandler(progressReportedSignal, (report) => {
    const effect = tracker.applyProgress(report, Date.now());
    if (effect === 'attempt_failed') log.warn('device reported an error', { ...ids, progress: report.progress, desc: report.desc });
    // Current details are not history events, so keeping the progress in them current costs nothing.
    if (effect === 'progressed') publishState(tracker);
  });
  setHandler(statusReportedSignal, (report) => {
    tracker.applyStatus(report, Date.now());
  });

  log.info('upgrade started', { ...ids, campaignWorkflowId: input.campaignWorkflowId });
  publishState(tracker);
  try {
    await runUpgrade(input, tracker, publishState);
  } catch (error) {
    if (!isCancellation(error)) throw error;
    tracker.cancel(Date.now());
    log.info('upgrade cancelled', ids);
    await CancellationScope.nonCancellable(() => finish(input, tracker, publishState));
    throw error;
  }
  await finish(input, tracker, publishState);

  const state = tracker.snapshot();
  if (state.phase === 'failed') {
    throw ApplicationFailure.create({
      type: UPGRADE_FAILED,
      message: `upgrade of ${input.productName}/${input.deviceName} to ${input.firmware.version} failed after ${state.attempt} attempt(s): ${state.failureReason}`,
      nonRetryable: true,
      details: [state],
    });
  }
  return state;
}

async function runUpgrade(input: UpgradeInput, tracker: UpgradeTracker, publishState: PublishState): Promise<void> {
  if (input.skipIfInstalled) {
    const stored = await readDeviceStatus.executeWithOptions(
      { ...READ_STATUS_OPTIONS, summary: 'read stored firmware_ver' },
      [{ productName: input.productName, deviceName: input.deviceName }],
    );
    if (stored.firmwareVer === input.firmware.version) {
      tracker.skip('already_installed', Date.now());
      return;
    }
  }

  while (!tracker.isTerminal) {
    await runAttempt(input, tracker, publishState);
    if (tracker.isTerminal) return;

    const attempt = tracker.currentAttempt!;
    const reason = attempt.reason!;
    const retryable = input.retry.retryableReasons.includes(reason);
    if (!retryable || attempt.attempt >= input.retry.maxAttempts) {
      log.warn('upgrade failed', { ...logIds(input), attempt: attempt.attempt, reason, retryable });
      tracker.fail(Date.now());
      return;
    }

    const delayMs = backoffDelayMs(input.retry, attempt.attempt);
    log.info('attempt failed, retrying', { ...logIds(input), attempt: attempt.attempt, reason, delayMs });
    publishState(tracker);
    // A device that reports the target version while we wait has upgraded after all.
    await condition(() => tracker.isTerminal, delayMs, { summary: `back off ${delayMs} ms before attempt ${attempt.attempt + 1}` });
  }
}

/** Runs one attempt to its end: success, or a failure recorded on the tracker. */
async function runAttempt(input: UpgradeInput, tracker: UpgradeTracker, publishState: PublishState): Promise<void> {
  const attempt = tracker.startAttempt(uuid4(), Date.now());
  const attemptDeadline = attempt.startedAt + input.timeouts.attemptMs;
  publishState(tracker);

  try {
    await publishOtaCommand.executeWithOptions(
      { ...PUBLISH_OPTIONS, summary: `publish $ota_upgrade ${input.firmware.version}` },
      [{
        productName: input.productName,
        deviceName: input.deviceName,
        requestId: attempt.requestId,
        commandTtlMs: input.timeouts.commandTtlMs,
        firmware: input.firmware,
      }],
    );
  } catch (error) {
    if (isCancellation(error)) throw error;
    tracker.failAttempt(FailureReason.PUBLISH_FAILED, errorMessage(error), Date.now());
    return;
  }
  tracker.markPublished(Date.now());
  publishState(tracker);

  // Downloading: wake on a phase change, or when the stall timeout or the attempt deadline passes.
  // Reports do not restart the timer, which saves two history events per report. When the timer fires
  // after progress arrived meanwhile, the loop waits again for the rest of the stall window.
  while (tracker.phase === 'downloading' || tracker.phase === 'publishing') {
    const now = Date.now();
    const stallAt = tracker.lastProgressAt() + input.timeouts.stallMs;
    const wakeAt = Math.min(stallAt, attemptDeadline);
    if (wakeAt <= now) {
      const reason = stallAt <= now ? FailureReason.STALL_TIMEOUT : FailureReason.ATTEMPT_TIMEOUT;
      tracker.failAttempt(reason, `no progress since ${tracker.snapshot().progress ?? 'the command'}`, now);
      return;
    }
    await condition(() => tracker.phase !== 'downloading' && tracker.phase !== 'publishing', wakeAt - now, {
      summary: `wait for progress, stall timeout ${input.timeouts.stallMs} ms`,
    });
  }
  if (tracker.phase !== 'verifying') return;
  publishState(tracker);

  // Verifying: the report of the new firmware_ver may have reached the registry before its signal
  // reached this workflow, or while no upgrade was running, so the stored status is checked as well.
  const verifyDeadline = Math.min(Date.now() + input.timeouts.verifyMs, attemptDeadline);
  await checkStoredStatus(input, tracker);
  const remaining = verifyDeadline - Date.now();
  if (tracker.phase === 'verifying' && remaining > 0) {
    await condition(() => tracker.phase !== 'verifying', remaining, {
      summary: `wait for firmware_ver ${input.firmware.version}, verify timeout ${input.timeouts.verifyMs} ms`,
    });
  }
  if (tracker.phase !== 'verifying') return;
  await checkStoredStatus(input, tracker);
  if (tracker.phase !== 'verifying') return;
  const reason = verifyDeadline === attemptDeadline ? FailureReason.ATTEMPT_TIMEOUT : FailureReason.VERIFY_TIMEOUT;
  tracker.failAttempt(reason, `no firmware_ver ${input.firmware.version} reported`, Date.now());
}

async function checkStoredStatus(input: UpgradeInput, tracker: UpgradeTracker): Promise<void> {
  const stored = await readDeviceStatus.executeWithOptions(
    { ...READ_STATUS_OPTIONS, summary: 'read stored firmware_ver' },
    [{ productName: input.productName, deviceName: input.deviceName }],
  );
  tracker.applyStoredStatus(stored.firmwareVer, stored.statusUpdatedAt, Date.now());
}

/** Publishes the final state, logs the end, and reports it to the campaign, if any. */
async function finish(input: UpgradeInput, tracker: UpgradeTracker, publishState: PublishState): Promise<void> {
  publishState(tracker);
  const state = tracker.snapshot();
  log.info('upgrade finished', { ...logIds(input), phase: state.phase, attempts: state.attempt, failureReason: state.failureReason });
  if (input.campaignWorkflowId === undefined) return;

  const report: DeviceFinishedReport = {
    deviceName: input.deviceName,
    runId: workflowInfo().runId,
    phase: state.phase as DeviceFinishedReport['phase'],
    reason: state.failureReason ?? state.skipReason,
    attempts: state.attempt,
    lastProgress: state.progress,
  };
  try {
    // Without a run id the signal reaches the campaign's current run, also after it continued as new.
    await getExternalWorkflowHandle(input.campaignWorkflowId).signal(deviceFinishedSignal, report);
  } catch (error) {
    // The campaign has ended. Its reconcile step is for runs it still waits on, so nothing is lost here.
    log.warn('could not report the outcome to the campaign', { ...logIds(input), campaignWorkflowId: input.campaignWorkflowId, error: errorMessage(error) });
  }
}

type PublishState = (tracker: UpgradeTracker) => void;

/**
 * Creates the function that mirrors the state into search attributes and the UI's current details.
 * Each upsert is a history event, so attributes are sent only when they changed.
 */
function createStatePublisher(): PublishState {
  let publishedAttributes = '';
  return (tracker) => {
    const state = tracker.snapshot();
    const attributes = `${state.phase}|${state.attempt}|${state.failureReason ?? ''}`;
    if (attributes !== publishedAttributes) {
      publishedAttributes = attributes;
      upsertSearchAttributes([
      { key: OtaState, value: state.phase },
      { key: OtaAttempt, value: state.attempt },
        { key: OtaFailureReason, value: state.failureReason },
      ]);
    }
    const progress = state.progress === null ? 'no progress yet' : `progress ${state.progress}`;
    setCurrentDetails(
      // "attempt 1 of 3" rather than "1/3", which the Temporal UI's Markdown renders as a fraction.
      `**${state.phase}**, attempt ${state.attempt} of ${state.maxAttempts}, ${progress}` +
        (state.failureReason ? `, last failure ${state.failureReason}` : ''),
    );
  };
}

function logIds(input: UpgradeInput) {
  return { productName: input.productName, deviceName: input.deviceName, targetVersion: input.firmware.version };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

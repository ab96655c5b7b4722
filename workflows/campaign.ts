import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { UpgradeActivities } from '../activities';
import type { CampaignInput } from './campaign-input';
import { checkedInput, VALIDATE_OPTIONS } from './input-validation';
import { CampaignTracker } from './campaign-tracker';
import type { CampaignView, DeviceFinishedReport } from './campaign-types';
import { OtaState } from './search-attributes';

/** Sent by each device upgrade of the campaign when it ends. */
export const deviceFinishedSignal = defineSignal<[DeviceFinishedReport]>('deviceFinished');
/** The campaign's state and counts. */
export const campaignStateQuery = defineQuery<CampaignView>('campaignState');
/** Stops starting devices; devices in flight go on. Rejected unless the campaign is running. */
export const pauseCampaignUpdate = defineUpdate<CampaignView>('pause');
/** Starts devices again after a pause. Rejected unless the campaign is paused. */
export const resumeCampaignUpdate = defineUpdate<CampaignView>('resume');
/** Starts no more devices and cancels those in flight. Rejected once the campaign is cancelled or completed. */
export const cancelCampaignUpdate = defineUpdate<CampaignView>('cancel');

/** Patch id of writing outcomes in the background while devices keep starting. */
const BACKGROUND_OUTCOME_WRITES = 'background-outcome-writes';

/** Application failure type of a campaign input the workflow cannot run. */
export const INVALID_CAMPAIGN_INPUT = 'InvalidCampaignInput';

// Devices handed to one start activity. Small enough that a batch starts within a few seconds.
const MAX_START_BATCH = 50;
// Runs in flight checked against Temporal in one reconcile activity.
const MAX_RECONCILE_BATCH = 100;

// A batch of starts or a page of targets takes seconds. An activity lost with a crashed worker is
// retried only after this timeout, so it bounds how long such a crash holds up the campaign.
const ACTIVITY_TIMEOUT = '30s';

// Every campaign activity is idempotent, so each retries until it succeeds: a campaign must not end
// because MongoDB or Temporal was unavailable for a while.
const RETRY_FOREVER: ActivityOptions['retry'] = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' };

const {
  prepareCampaignTargets,
  fetchCampaignTargets,
  startDeviceUpgrades,
  recordCampaignProgress,
  cancelDeviceUpgrades,
  reconcileDeviceUpgrades,
} = proxyActivities<UpgradeActivities>({ startToCloseTimeout: ACTIVITY_TIMEOUT, retry: RETRY_FOREVER });
const { validateCampaignInput } = proxyLocalActivities<UpgradeActivities>(VALIDATE_OPTIONS);

/**
 * Upgrades every target device of a campaign: reads targets page by page, keeps a window of device
 * upgrades within the concurrency and rate limits, counts their outcomes, writes them to MongoDB, and
 * continues as new before any Temporal limit comes near, carrying only counters and a cursor.
 */
export async function upgradeCampaign(rawInput: CampaignInput): Promise<CampaignView> {
  const input = await checkedInput(rawInput, validateCampaignInput, { label: 'campaign', type: INVALID_CAMPAIGN_INPUT });
  const tracker = new CampaignTracker(input, Date.now());
  const ids = { campaignId: input.campaignId, productName: input.productName, round: input.round };

  setHandler(campaignStateQuery, () => tracker.view());
  setHandler(deviceFinishedSignal, (report) => {
    if (!tracker.applyFinished(report, Date.now())) log.debug('ignored a duplicate device report', { ...ids, deviceName: report.deviceName });
  });
  setHandler(pauseCampaignUpdate, () => control(tracker, 'paused', () => tracker.pause()), { validator: () => tracker.validatePause() });
  setHandler(resumeCampaignUpdate, () => control(tracker, 'resumed', () => tracker.resume()), { validator: () => tracker.validateResume() });
  setHandler(cancelCampaignUpdate, () => control(tracker, 'cancelled', () => tracker.cancel(Date.now())), {
    validator: () => tracker.validateCancel(),
  });

  if (tracker.view().runNumber === 1 && input.round === 1) log.info('campaign started', ids);
  const publish = createViewPublisher();
  publish(tracker);

  if (tracker.state === 'scheduled') {
    await condition(() => tracker.state !== 'scheduled', input.startAt! - Date.now(), { summary: 'wait for the campaign start time' });
    tracker.beginRunning(Date.now());
    publish(tracker);
  }

  if (!tracker.targetsPrepared && tracker.state !== 'cancelled') {
    // Preparing targets scans the device registry, which takes minutes for a large fleet on FerretDB, so
    // the activity heartbeats its progress and resumes from it when retried.
    const { total } = await prepareCampaignTargets.executeWithOptions(
      { startToCloseTimeout: '6h', heartbeatTimeout: '30s', retry: RETRY_FOREVER, summary: 'list the target devices' },
      [{ campaignId: input.campaignId }],
    );
    tracker.setTotal(total);
    log.info('campaign targets prepared', { ...ids, total });
  }
  await saveProgress(input, tracker, publish);

  // Writing outcomes used to hold up starting devices; runs that started before that changed replay the
  // old way. A background write bumps `version` when it ends, which wakes the loop.
  const flushInBackground = patched(BACKGROUND_OUTCOME_WRITES);
  let backgroundFlush: Promise<void> | undefined;
  const finishFlush = async () => {
    if (backgroundFlush) await backgroundFlush;
  };

  let page: string[] = [];
  for (;;) {
    const seen = tracker.version;

    const toCancel = tracker.takeRunsToCancel();
    if (toCancel.length > 0) {
      await cancelDeviceUpgrades({ productName: input.productName, runs: toCancel });
      log.info('cancelled devices in flight', { ...ids, devices: toCancel.length });
    }
    if (tracker.hasOutcomesToFlush(Date.now())) {
      if (!flushInBackground) {
        await saveProgress(input, tracker, publish);
      } else if (!backgroundFlush) {
        backgroundFlush = saveProgress(input, tracker, publish).finally(() => {
          backgroundFlush = undefined;
          tracker.version += 1;
        });
      }
    }
    if (tracker.isFinished()) break;
    if (shouldContinueAsNew(input, tracker)) {
      await finishFlush();
      await saveProgress(input, tracker, publish);
      // Updates and signals being handled must finish before the run ends, or they would be lost.
      await condition(allHandlersFinished);
      log.info('campaign continues as new', { ...ids, runNumber: tracker.view().runNumber, historyLength: workflowInfo().historyLength });
      return continueAsNew<typeof upgradeCampaign>({ ...input, carried: tracker.carry() });
    }

    const capacity = tracker.startCapacity(Date.now(), MAX_START_BATCH);
    if (capacity > 0) {
      if (page.length === 0) {
        page = await fetchCampaignTargets({ campaignId: input.campaignId, round: input.round, afterDeviceName: tracker.cursor, limit: input.tuning.pageSize });
        if (page.length === 0) tracker.markExhausted();
        continue;
      }
      const batch = page.splice(0, capacity);
      tracker.beginStarting(batch, Date.now());
      const results = await startDeviceUpgrades({
        campaignId: input.campaignId,
        campaignWorkflowId: workflowInfo().workflowId,
        round: input.round,
        productName: input.productName,
        firmware: input.firmware,
        upgrade: input.upgrade,
        deviceNames: batch,
      });
      tracker.applyStartResults(results, Date.now());
      publish(tracker);
      continue;
    }

    const stale = tracker.staleRuns(Date.now(), input.tuning.reconcileIntervalMs, MAX_RECONCILE_BATCH);
    if (stale.length > 0) {
      const reports = await reconcileDeviceUpgrades({ productName: input.productName, runs: stale });
      for (const report of reports) tracker.applyFinished(report, Date.now());
      tracker.noteReconciled(Date.now());
      if (reports.length > 0) log.warn('recorded devices that ended without reporting', { ...ids, devices: reports.length });
      continue;
    }

    // Nothing to do until a device reports, an operator acts, or a timer is due. Each wait needs a change
    // of `version` or a positive timeout, so the loop cannot spin without awaiting anything.
    publish(tracker);
    const now = Date.now();
    // While a write is in progress, its end wakes the loop; a flush timer would fire again and again.
    const flushTimer = backgroundFlush ? undefined : tracker.msUntilFlush(now);
    const timers = [tracker.msUntilStartAllowed(now), flushTimer, tracker.msUntilReconcile(now, input.tuning.reconcileIntervalMs)];
    const wakeIn = Math.min(...timers.filter((ms): ms is number => ms !== undefined));
    if (Number.isFinite(wakeIn)) await condition(() => tracker.version !== seen, wakeIn, { summary: 'wait for devices, operators or the start rate' });
    else await condition(() => tracker.version !== seen);
  }

  await finishFlush();
  tracker.finish(Date.now());
  await saveProgress(input, tracker, publish);
  await condition(allHandlersFinished);
  const view = tracker.view();
  log.info('campaign ended', { ...ids, state: view.state, counts: view.counts, abortReason: view.abortReason });
  return view;
}

/** Applies a control update and returns the new view; the validator has already checked the state. */
function control(tracker: CampaignTracker, action: string, apply: () => void): CampaignView {
  apply();
  log.info(`campaign ${action}`, { state: tracker.state });
  return tracker.view();
}

function shouldContinueAsNew(input: CampaignInput, tracker: CampaignTracker): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= input.tuning.maxRunEvents || tracker.signalsThisRun >= input.tuning.maxRunSignals;
}

/** Writes buffered outcomes and the campaign's summary to MongoDB. */
async function saveProgress(input: CampaignInput, tracker: CampaignTracker, publish: (tracker: CampaignTracker) => void): Promise<void> {
  publish(tracker);
  const outcomes = tracker.takeOutcomes();
  await recordCampaignProgress.executeWithOptions(
    { startToCloseTimeout: ACTIVITY_TIMEOUT, retry: RETRY_FOREVER, summary: `record ${outcomes.length} device outcomes` },
    [{ campaignId: input.campaignId, round: input.round, outcomes, view: tracker.view(), asOf: Date.now() }],
  );
}

/** Creates the function that mirrors the campaign's state into its search attribute and current details. */
function createViewPublisher(): (tracker: CampaignTracker) => void {
  let publishedState = '';
  return (tracker) => {
    const view = tracker.view();
    if (view.state !== publishedState) {
      publishedState = view.state;
      upsertSearchAttributes([{ key: OtaState, value: view.state }]);
    }
    const counts = view.counts;
    setCurrentDetails(
      `**${view.state}**${view.percentDone === null ? '' : `, ${view.percentDone}% done`}: ` +
        `${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.timedOut} timed out, ${counts.skipped} skipped, ` +
        `${counts.cancelled} cancelled, ${view.inFlight} in flight` +
        (view.abortReason ? `. Aborted: ${view.abortReason}` : ''),
    );
  };
}

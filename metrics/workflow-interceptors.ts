// Workflow interceptors that report upgrades and campaigns to the worker's metrics through a sink. The
// worker bundles this module with the workflows, so it runs in the deterministic sandbox: it may import
// only workflow code, and it reports through the sink instead of touching prom-client. It changes no
// workflow behaviour and issues no command, so histories recorded without it replay unchanged.
import {
  ApplicationFailure,
  isCancellation,
  log,
  proxySinks,
  TemporalFailure,
  workflowInfo,
  type ActivityInput,
  type LocalActivityInput,
  type Next,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import type { UpgradeActivities } from '../activities';
import type { CampaignInput } from '../workflows/campaign-input';
import type { CampaignView, DeviceOutcomeRecord } from '../workflows/campaign-types';
import { INVALID_UPGRADE_INPUT, UPGRADE_FAILED } from '../workflows/upgrade';
import type { UpgradeInput } from '../workflows/upgrade-input';
import type { UpgradeState } from '../workflows/upgrade-tracker';
import type { CampaignOutcomeCount, UpgradeOutcome, UpgradeTrigger, WorkflowMetricSinks } from './workflow-metric-sinks';

// Workflow types are the export names in workflows/index.ts.
const UPGRADE_WORKFLOW = 'upgradeDevice';
const CAMPAIGN_WORKFLOW = 'upgradeCampaign';
const RECORD_CAMPAIGN_PROGRESS: keyof UpgradeActivities = 'recordCampaignProgress';
const VALIDATE_UPGRADE_INPUT: keyof UpgradeActivities = 'validateUpgradeInput';
const VALIDATE_CAMPAIGN_INPUT: keyof UpgradeActivities = 'validateCampaignInput';

const { otaMetrics } = proxySinks<WorkflowMetricSinks>();

/**
 * Counts a run as started when the local activity that validates its input returns. Until then the first
 * workflow task has not completed, and a worker that evicts the run (always, without a workflow cache)
 * runs that task's code again from the start, outside replay: a count made earlier would be made twice.
 */
class StartedMetricsInterceptor implements WorkflowOutboundCallsInterceptor {
  scheduleLocalActivity(input: LocalActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>): Promise<unknown> {
    const result = next(input);
    if (input.activityType === VALIDATE_UPGRADE_INPUT) {
      const trigger = upgradeTrigger(input.args[0] as Partial<UpgradeInput> | undefined);
      observe(result, () => otaMetrics.upgradeStarted(trigger), () => otaMetrics.upgradeStarted(trigger));
    } else if (input.activityType === VALIDATE_CAMPAIGN_INPUT && (input.args[0] as Partial<CampaignInput> | undefined)?.carried === undefined) {
      observe(result, () => otaMetrics.campaignStarted(), () => otaMetrics.campaignStarted());
    }
    return result;
  }
}

function upgradeTrigger(input: Partial<UpgradeInput> | undefined): UpgradeTrigger {
  return typeof input?.campaignWorkflowId === 'string' ? 'campaign' : 'request';
}

/** Reports the end of each device upgrade run, with its outcome and reason. */
class UpgradeMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const trigger = upgradeTrigger(input.args[0] as Partial<UpgradeInput> | undefined);
    const result = next(input);
    observe(
      result,
      (value) => {
        const state = value as UpgradeState;
        reportUpgradeEnd(trigger, state.phase === 'skipped' ? 'skipped' : 'succeeded', state.skipReason);
      },
      (error) => {
        const end = upgradeEndOfError(error);
        if (end) reportUpgradeEnd(trigger, end.outcome, end.reason);
      },
    );
    return result;
  }
}

function reportUpgradeEnd(trigger: UpgradeTrigger, outcome: UpgradeOutcome, reason: string | null): void {
  // Date.now() in a workflow is the time of the current workflow task, so the duration is replay-safe.
  const durationMs = Date.now() - workflowInfo().runStartTime.getTime();
  otaMetrics.upgradeFinished({ trigger, outcome, reason, durationMs });
}

/**
 * Returns how an upgrade that threw ended, or undefined when the error does not end the run. Only a
 * Temporal failure fails a workflow; any other error fails the workflow task, which Temporal retries.
 */
function upgradeEndOfError(error: unknown): { outcome: UpgradeOutcome; reason: string | null } | undefined {
  if (isCancellation(error)) return { outcome: 'cancelled', reason: null };
  if (!(error instanceof TemporalFailure)) return undefined;
  if (error instanceof ApplicationFailure && error.type === UPGRADE_FAILED) {
    const state = error.details?.[0] as Partial<UpgradeState> | undefined;
    return { outcome: 'failed', reason: state?.failureReason ?? null };
  }
  if (error instanceof ApplicationFailure && error.type === INVALID_UPGRADE_INPUT) return { outcome: 'failed', reason: 'invalid_input' };
  // For example an activity that failed after all its retries.
  return { outcome: 'failed', reason: 'workflow_failure' };
}

/** Reports each campaign once at its end, skipping runs that continue as new. */
class CampaignMetricsInterceptor implements WorkflowInboundCallsInterceptor {
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const result = next(input);
    observe(
      result,
      (view) => otaMetrics.campaignFinished((view as CampaignView).state),
      (error) => {
        // Continue-as-new is thrown as ContinueAsNew, which is no TemporalFailure: the campaign goes on.
        if (isCancellation(error)) otaMetrics.campaignFinished('cancelled');
        else if (error instanceof TemporalFailure) otaMetrics.campaignFinished('failed');
      },
    );
    return result;
  }
}

/**
 * Reports the device outcomes a campaign wrote, once the write succeeded. The campaign has already dropped
 * duplicate reports and added devices that ended without reporting, so each outcome counts once.
 */
class CampaignOutcomesInterceptor implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    const result = next(input);
    if (input.activityType === RECORD_CAMPAIGN_PROGRESS) {
      const outcomes = (input.args[0] as { outcomes?: DeviceOutcomeRecord[] } | undefined)?.outcomes ?? [];
      if (outcomes.length > 0) observe(result, () => otaMetrics.campaignOutcomesRecorded(countOutcomes(outcomes)), () => undefined);
    }
    return result;
  }
}

/**
 * Calls `onValue` or `onError` when `promise` settles, and hands the workflow the same promise. Awaiting
 * it here instead would add microtask steps before the workflow code goes on, which can reorder its
 * commands against update and signal handlers in the same activation and so break the replay of
 * histories recorded without these interceptors.
 */
function observe(promise: Promise<unknown>, onValue: (value: unknown) => void, onError: (error: unknown) => void): void {
  // A rejection left unhandled here would fail the workflow task, so a fault in counting is logged instead.
  const guarded = (report: (outcome: unknown) => void) => (outcome: unknown) => {
    try {
      report(outcome);
    } catch (error) {
      log.warn('could not report workflow metrics', { error: error instanceof Error ? error.message : String(error) });
    }
  };
  promise.then(guarded(onValue), guarded(onError));
}

function countOutcomes(outcomes: readonly DeviceOutcomeRecord[]): CampaignOutcomeCount[] {
  const counts = new Map<string, CampaignOutcomeCount>();
  for (const { outcome, reason } of outcomes) {
    const key = `${outcome}\u0000${reason ?? ''}`;
    const entry = counts.get(key) ?? { outcome, reason, count: 0 };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

/** Picks the interceptors of the workflow type this run executes. */
export const interceptors: WorkflowInterceptorsFactory = () => {
  const { workflowType } = workflowInfo();
  if (workflowType === UPGRADE_WORKFLOW) return { inbound: [new UpgradeMetricsInterceptor()], outbound: [new StartedMetricsInterceptor()] };
  if (workflowType === CAMPAIGN_WORKFLOW) {
    return { inbound: [new CampaignMetricsInterceptor()], outbound: [new StartedMetricsInterceptor(), new CampaignOutcomesInterceptor()] };
  }
  return {};
};

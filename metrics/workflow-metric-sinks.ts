import type { Sinks } from '@temporalio/workflow';

/** Origin of a device upgrade: a `POST /ota` request, or a campaign. */
export type UpgradeTrigger = 'request' | 'campaign';

/** Final outcome of a device upgrade workflow. */
export type UpgradeOutcome = 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export interface UpgradeFinishedEvent {
  trigger: UpgradeTrigger;
  outcome: UpgradeOutcome;
  /** Failure reason of a failed upgrade, skip reason of a skipped one, null otherwise. */
  reason: string | null;
  /** Workflow time from the run's start to its end, in milliseconds. */
  durationMs: number;
}

/** Device outcomes a campaign recorded in one write, counted per outcome and reason. */
export interface CampaignOutcomeCount {
  outcome: string;
  reason: string | null;
  count: number;
}

/**
 * Sink through which workflow interceptors report upgrades and campaigns to the worker's metrics. Sinks
 * are the SDK's way out of the deterministic workflow sandbox. A call is copied to the worker process
 * after the workflow task and returns nothing to the workflow. The SDK skips it during replay, so a
 * workflow replayed after a cache eviction is not counted twice.
 *
 * This module holds types only, so that the workflow bundle imports no prom-client code.
 */
export interface WorkflowMetricSinks extends Sinks {
  otaMetrics: {
    upgradeStarted(trigger: UpgradeTrigger): void;
    upgradeFinished(event: UpgradeFinishedEvent): void;
    campaignStarted(): void;
    /** The campaign's last run ended in this state; runs that continue as new do not count. */
    campaignFinished(state: string): void;
    campaignOutcomesRecorded(counts: CampaignOutcomeCount[]): void;
  };
}

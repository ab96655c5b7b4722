import type { FailureReason } from './failure-reason';

/** Terminal outcome of one device in a campaign. */
export type DeviceOutcome = 'succeeded' | 'failed' | 'timed_out' | 'skipped' | 'cancelled';

/** Why a device was skipped without being upgraded. */
export type SkipReason = 'already_installed' | 'upgrade_running';

/** One device's terminal outcome, as recorded once per device per campaign. */
export interface DeviceOutcomeRecord {
  deviceName: string;
  outcome: DeviceOutcome;
  /** Failure reason, skip reason, or why it was cancelled; null for a success. */
  reason: FailureReason | SkipReason | string | null;
  attempts: number;
  lastProgress: number | null;
  /** Workflow run of the device upgrade, or null when the device was skipped before one started. */
  runId: string | null;
  /** When the campaign learned the outcome, in milliseconds since the epoch. */
  finishedAt: number;
}

/** Counts of devices per outcome, plus those still waiting or upgrading. */
export interface CampaignCounts {
  /** Devices the campaign targets; null until the target list has been prepared. */
  total: number | null;
  started: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  skipped: number;
  cancelled: number;
}

export type CampaignState = 'scheduled' | 'running' | 'paused' | 'aborted' | 'cancelled' | 'completed';

/** What a device upgrade tells its campaign when it ends. */
export interface DeviceFinishedReport {
  deviceName: string;
  runId: string;
  /** Terminal phase of the upgrade workflow. */
  phase: 'succeeded' | 'failed' | 'cancelled' | 'skipped';
  reason: string | null;
  attempts: number;
  lastProgress: number | null;
}

/** One device handed to the start activity, and what became of it. */
export type DeviceStartResult =
  | { deviceName: string; status: 'started'; runId: string }
  | { deviceName: string; status: 'skipped'; reason: SkipReason };

/** The campaign as the state query and the control updates return it. */
export interface CampaignView {
  campaignId: string;
  productName: string;
  targetVersion: string;
  state: CampaignState;
  round: number;
  counts: CampaignCounts;
  /** Devices started and not yet finished. */
  inFlight: number;
  /** Targets neither started nor skipped yet; null until the target count is known. */
  notStarted: number | null;
  /** Finished and skipped devices as a percentage of the targets; null until the target count is known. */
  percentDone: number | null;
  abortReason: string | null;
  firstWave: { size: number; started: number; finished: number; succeeded: number; state: 'running' | 'passed' | 'failed' } | null;
  startAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  /** Reports of devices that were not in flight any more, ignored as duplicates. */
  duplicateReports: number;
  runNumber: number;
}

import { z } from 'zod';
import { otaUpgradePayloadSchema, productNameSchema } from '../protocol';
import { retryPolicySchema, upgradeTimeoutsSchema } from './upgrade-input';
import type { CampaignCounts, CampaignState, DeviceOutcomeRecord } from './campaign-types';

/** Campaign ids become part of workflow ids and MongoDB keys, so they share the device name alphabet. */
export const campaignIdSchema = z
  .string()
  .min(1, { error: 'campaign id must not be empty' })
  .max(64, { error: 'campaign id must be at most 64 characters' })
  .regex(/^[A-Za-z0-9_.-]+$/, { error: "campaign id may contain only letters, digits, '_', '.' and '-'" })
  // '.' and '..' are path segments that HTTP clients remove from URLs: such a campaign could not be read.
  .refine((id) => !/^\.+$/.test(id), { error: "campaign id must contain a character other than '.'" });

/** Workflow id of a campaign; the id depends on the campaign only, so a second start finds the first. */
export function campaignWorkflowId(campaignId: string): string {
  return `campaign:${campaignId}`;
}

export const firstWaveSchema = z
  .strictObject({
    /** Devices in the first wave, or `percent` of the targets. */
    count: z.number().int().min(1).optional(),
    percent: z.number().gt(0).max(100).optional(),
    /** Share of the wave's finished devices that must succeed before the rest start. Skipped devices do not count. */
    minSuccessPercent: z.number().min(0).max(100),
  })
  .refine((wave) => (wave.count === undefined) !== (wave.percent === undefined), {
    error: 'a first wave needs exactly one of count and percent',
  });

export const abortRuleSchema = z.strictObject({
  /** Failed and timed-out devices, as a share of finished ones, at which no more devices start. */
  failurePercent: z.number().gt(0).max(100),
  /** Finished devices needed before the rule applies, so that the first failure does not abort. */
  minFinished: z.number().int().min(1),
});

export const rolloutSchema = z.strictObject({
  maxConcurrent: z.number().int().min(1).max(10_000),
  maxStartsPerMinute: z.number().int().min(1).max(1_000_000),
  firstWave: firstWaveSchema.optional(),
  abort: abortRuleSchema.optional(),
});
export type Rollout = z.infer<typeof rolloutSchema>;

/**
 * Limits that keep each workflow run far from Temporal's limits (51,200 history events, 50 MB of
 * history, 10,000 signals per run by default): the campaign continues as new when a run reaches any.
 */
export const campaignTuningSchema = z.strictObject({
  /** Targets read from MongoDB per activity call. */
  pageSize: z.number().int().min(1).max(1_000),
  maxRunEvents: z.number().int().min(100).max(40_000),
  maxRunSignals: z.number().int().min(10).max(9_000),
  /** Outcomes buffered before they are written to MongoDB in one activity call. */
  outcomeFlushSize: z.number().int().min(1).max(1_000),
  /** Longest time an outcome waits in the buffer. */
  outcomeFlushIntervalMs: z.number().int().min(100).max(600_000),
  /** Time without any device report after which devices in flight are checked against Temporal. */
  reconcileIntervalMs: z.number().int().min(1_000).max(24 * 3_600_000),
});
export type CampaignTuning = z.infer<typeof campaignTuningSchema>;

export const DEFAULT_CAMPAIGN_TUNING: CampaignTuning = {
  pageSize: 500,
  maxRunEvents: 10_000,
  maxRunSignals: 4_000,
  outcomeFlushSize: 200,
  outcomeFlushIntervalMs: 5_000,
  reconcileIntervalMs: 120_000,
};

/** What one run hands to the next when it continues as new: counters and a cursor, never the fleet. */
export interface CampaignCarriedState {
  state: CampaignState;
  counts: CampaignCounts;
  targetsPrepared: boolean;
  /** Last device name handed to the start activity, in the target order. */
  cursor: string | null;
  exhausted: boolean;
  inFlight: { deviceName: string; runId: string; wave: boolean; startedAt: number }[];
  pendingOutcomes: DeviceOutcomeRecord[];
  wave: { size: number; started: number; finished: number; succeeded: number; judged: number; state: 'running' | 'passed' | 'failed' } | null;
  abortReason: string | null;
  startedAt: number | null;
  endedAt: number | null;
  rateTokens: number;
  rateUpdatedAt: number;
  lastReportAt: number;
  handled: number;
  duplicateReports: number;
  runNumber: number;
}

export const campaignInputSchema = z.strictObject({
  campaignId: campaignIdSchema,
  productName: productNameSchema,
  firmware: otaUpgradePayloadSchema,
  rollout: rolloutSchema,
  upgrade: z.strictObject({ timeouts: upgradeTimeoutsSchema, retry: retryPolicySchema }),
  /** Earliest start, in milliseconds since the epoch; null starts at once. */
  startAt: z.number().int().nullable(),
  tuning: campaignTuningSchema,
  /** 1 for the campaign's first pass; each retry of failed devices is one more. */
  round: z.number().int().min(1),
  /** Counts of earlier rounds, which a retry round starts from. */
  baseCounts: z.custom<CampaignCounts>().optional(),
  carried: z.custom<CampaignCarriedState>().optional(),
});
export type CampaignInput = z.infer<typeof campaignInputSchema>;

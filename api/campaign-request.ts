import { z } from 'zod';
import { otaUpgradePayloadSchema, productNameSchema } from '../protocol';
import { campaignTargetSpecSchema } from '../storage/campaign-store';
import { abortRuleSchema, campaignIdSchema, campaignTuningSchema, firstWaveSchema } from '../workflows/campaign-input';
import { upgradeOptionsSchema } from './upgrade-options';

/** Largest campaign request, in bytes: a list of 10,000 device names fits. */
export const MAX_CAMPAIGN_BODY_BYTES = 1024 * 1024;

/** Body of `POST /campaigns`. Rollout limits and per-device settings default when left out. */
export const createCampaignRequestSchema = z.strictObject({
  /** Caller-chosen id; the same id again returns the existing campaign. Generated when left out. */
  id: campaignIdSchema.optional(),
  productName: productNameSchema,
  target: campaignTargetSpecSchema,
  firmware: otaUpgradePayloadSchema,
  rollout: z
    .strictObject({
      maxConcurrent: z.number().int().min(1).max(10_000).default(100),
      maxStartsPerMinute: z.number().int().min(1).max(1_000_000).default(1_000),
      firstWave: firstWaveSchema.optional(),
      abort: abortRuleSchema.optional(),
    })
    .default({ maxConcurrent: 100, maxStartsPerMinute: 1_000 }),
  /** Timeouts and retry policy of each device, as in `POST /ota`. */
  upgrade: upgradeOptionsSchema.default({}),
  /** ISO 8601 time to start at; the campaign waits in state scheduled until then. */
  startAt: z.iso.datetime({ offset: true, error: 'startAt must be an ISO 8601 date-time such as 2026-12-24T08:00:00Z' }).optional(),
  /** Advanced: limits of each workflow run and page sizes; see the campaign design document. */
  tuning: campaignTuningSchema.partial().default({}),
});
export type CreateCampaignRequest = z.infer<typeof createCampaignRequestSchema>;

export const campaignIdParamsSchema = z.strictObject({ id: campaignIdSchema });

export const listCampaignsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Cursor from the previous page's `next`. */
  before: z.string().max(200).optional(),
});

export const listDevicesQuerySchema = z.strictObject({
  outcome: z.enum(['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled']).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  /** Device name the previous page ended with. */
  after: z.string().max(64).optional(),
});

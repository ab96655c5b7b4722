import type { Collection, Db, Filter } from 'mongodb';
import { z } from 'zod';
import { deviceNameSchema, InvalidNameError, type OtaUpgradePayload } from '../protocol';
import { campaignIdSchema, type CampaignTuning } from '../workflows/campaign-input';
import type { CampaignCounts, CampaignState, CampaignView } from '../workflows/campaign-types';
import { assertBatchSize } from './batches';
import { isDuplicateKeyError } from './mongo';

export const CAMPAIGNS_COLLECTION = 'campaigns';

/** Maximum campaigns one `list` call returns. */
export const MAX_CAMPAIGN_LIST_LIMIT = 100;
/** Maximum conditions of a `filter` target. */
export const MAX_STATUS_CONDITIONS = 10;
/** Maximum values of an `in` or `nin` condition. */
export const MAX_CONDITION_VALUES = 100;
/** Maximum device names of a `devices` target. */
export const MAX_TARGET_DEVICE_NAMES = 10_000;

// Campaign ids become the first part of the `{campaignId}:{deviceName}` keys of targets and outcomes,
// which are read by `_id` range, so the schema keeps ':' out of them.
export { campaignIdSchema };

/** Throws InvalidNameError naming the id unless it is a valid campaign id. */
export function assertCampaignId(campaignId: string): void {
  const parsed = campaignIdSchema.safeParse(campaignId);
  if (!parsed.success) {
    throw new InvalidNameError(`invalid campaign id ${JSON.stringify(campaignId)}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
}

/** A value a device reports in `update_status`, as protocol/messages.ts accepts it. */
export type StatusValue = string | number | boolean | null;

/**
 * A condition on the device's reported `device_status.<field>`, with MongoDB's semantics: `ne` and `nin`
 * also match devices that never reported the field, and `eq null` or `in [null]` match them too.
 */
export interface StatusCondition {
  field: string;
  op: 'eq' | 'ne' | 'in' | 'nin';
  value: StatusValue | StatusValue[];
}

/** The devices a campaign targets: named devices, every device of the product, or those matching all conditions. */
export type CampaignTargetSpec =
  | { kind: 'devices'; deviceNames: string[] }
  | { kind: 'all' }
  | { kind: 'filter'; where: StatusCondition[] };

// Same rule as the field names of status reports in protocol/messages.ts: they become MongoDB field
// paths, so '.' and a leading '$' are kept out.
const STATUS_FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

const statusValueSchema = z.union([
  z.string().max(256, { error: 'a condition value string must be at most 256 characters' }),
  z.number(),
  z.boolean(),
  z.null(),
]);

const statusFieldSchema = z
  .string({ error: 'field must be a string' })
  .regex(STATUS_FIELD_PATTERN, { error: 'field must match [A-Za-z_][A-Za-z0-9_-]{0,63}, like status report fields' });

export const statusConditionSchema: z.ZodType<StatusCondition> = z.discriminatedUnion('op', [
  z.strictObject({
    field: statusFieldSchema,
    op: z.enum(['eq', 'ne']),
    value: statusValueSchema,
  }),
  z.strictObject({
    field: statusFieldSchema,
    op: z.enum(['in', 'nin']),
    value: z
      .array(statusValueSchema, { error: "the value of 'in' and 'nin' must be an array" })
      .min(1, { error: "the value of 'in' and 'nin' must hold at least 1 value" })
      .max(MAX_CONDITION_VALUES, { error: `the value of 'in' and 'nin' must hold at most ${MAX_CONDITION_VALUES} values` }),
  }),
], { error: "op must be one of 'eq', 'ne', 'in', 'nin'" });

const targetDeviceNamesSchema = z
  .array(deviceNameSchema)
  .min(1, { error: 'deviceNames must hold at least 1 device name' })
  .max(MAX_TARGET_DEVICE_NAMES, { error: `deviceNames must hold at most ${MAX_TARGET_DEVICE_NAMES} device names` })
  .superRefine((names, context) => {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) {
        context.addIssue({ code: 'custom', message: `deviceNames lists ${JSON.stringify(name)} more than once` });
        return;
      }
      seen.add(name);
    }
  });

export const campaignTargetSpecSchema: z.ZodType<CampaignTargetSpec> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('devices'), deviceNames: targetDeviceNamesSchema }),
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({
    kind: z.literal('filter'),
    where: z
      .array(statusConditionSchema)
      .min(1, { error: "where must hold at least 1 condition; use kind 'all' to target every device" })
      .max(MAX_STATUS_CONDITIONS, { error: `where must hold at most ${MAX_STATUS_CONDITIONS} conditions` }),
  }),
], { error: "kind must be one of 'devices', 'all', 'filter'" });

/** State of a campaign as the campaign workflow last stored it. */
export interface CampaignSummary {
  state: CampaignState;
  counts: CampaignCounts;
  abortReason: string | null;
  startedAt: Date | null;
  endedAt: Date | null;
  /** Time the workflow produced this summary. updateSummary never replaces a summary with an older one. */
  updatedAt: Date;
  /** The whole view, for listings and for reads when no worker answers a query. */
  view: CampaignView;
}

/** A campaign as stored in the `campaigns` collection. */
export interface CampaignDocument {
  /** Campaign id, valid by campaignIdSchema. */
  _id: string;
  product_name: string;
  target: CampaignTargetSpec;
  firmware: OtaUpgradePayload;
  /** Rollout settings as the API received them; stored unchanged. */
  rollout: Record<string, unknown>;
  /** Upgrade settings of each device as the API received them; stored unchanged. */
  upgrade: Record<string, unknown>;
  /** Limits of each workflow run and page sizes the campaign runs with, kept for its retry rounds. */
  tuning: CampaignTuning;
  /** When the campaign starts, or null to start at once. */
  start_at: Date | null;
  created_at: Date;
  workflow_id: string;
  /** Null until the campaign workflow stores its first summary. */
  summary: CampaignSummary | null;
}

/** Position after the last campaign of a `list` page. */
export interface CampaignListCursor {
  createdAt: Date;
  id: string;
}

export interface CampaignListPage {
  campaigns: CampaignDocument[];
  /** Cursor of the next page, or null when this page is the last. */
  next: CampaignListCursor | null;
}

/** The campaigns collection: one document per campaign with its definition and latest summary. */
export class CampaignStore {
  private readonly campaigns: Collection<CampaignDocument>;

  constructor(db: Db) {
    this.campaigns = db.collection<CampaignDocument>(CAMPAIGNS_COLLECTION);
  }

  /** Creates the index that `list` sorts by. Safe to call at every start. */
  async ensureIndexes(): Promise<void> {
    await this.campaigns.createIndex({ created_at: -1, _id: -1 }, { name: 'created_at_desc' });
  }

  /**
   * Inserts a campaign. When a campaign with the same id exists, for example because the request was
   * retried, returns the stored one with `created: false` and changes nothing.
   */
  async create(campaign: CampaignDocument): Promise<{ created: boolean; campaign: CampaignDocument }> {
    assertCampaignId(campaign._id);
    try {
      await this.campaigns.insertOne(campaign);
      return { created: true, campaign };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const existing = await this.campaigns.findOne({ _id: campaign._id });
    if (existing === null) {
      throw new Error(`campaign ${JSON.stringify(campaign._id)} was reported as a duplicate but is no longer stored; retry the create`);
    }
    return { created: false, campaign: existing };
  }

  async get(campaignId: string): Promise<CampaignDocument | null> {
    return this.campaigns.findOne({ _id: campaignId });
  }

  /** Returns campaigns newest first, by `created_at` and then `_id`, starting after the `before` cursor. */
  async list(options: { limit: number; before?: CampaignListCursor }): Promise<CampaignListPage> {
    assertBatchSize('limit', options.limit, MAX_CAMPAIGN_LIST_LIMIT);
    const filter: Filter<CampaignDocument> = {};
    if (options.before !== undefined) {
      const { createdAt, id } = options.before;
      filter.$or = [{ created_at: { $lt: createdAt } }, { created_at: createdAt, _id: { $lt: id } }];
    }

    // One extra document shows whether another page follows.
    const found = await this.campaigns
      .find(filter)
      .sort({ created_at: -1, _id: -1 })
      .limit(options.limit + 1)
      .toArray();
    const campaigns = found.slice(0, options.limit);
    const last = campaigns.at(-1);
    const next = found.length > options.limit && last !== undefined ? { createdAt: last.created_at, id: last._id } : null;
    return { campaigns, next };
  }

  /**
   * Returns campaigns whose stored summary is missing or not final (scheduled, running, paused or
   * aborted with devices still in flight), in `_id` order after `afterId`, for reconciling them with
   * their workflows.
   */
  async listUnfinished(afterId: string | null, limit: number): Promise<CampaignDocument[]> {
    assertBatchSize('limit', limit, MAX_CAMPAIGN_LIST_LIMIT);
    const unfinished: Filter<CampaignDocument> = {
      $or: [{ summary: null }, { 'summary.state': { $in: ['scheduled', 'running', 'paused', 'aborted'] } }],
    };
    const filter: Filter<CampaignDocument> = afterId === null ? unfinished : { $and: [unfinished, { _id: { $gt: afterId } }] };
    return this.campaigns.find(filter).sort({ _id: 1 }).limit(limit).toArray();
  }

  /**
   * Stores the workflow's latest summary of a campaign. Returns false, and keeps the stored summary, when
   * that one has a later `updatedAt`: a retried activity that finishes late must not turn back the state.
   * Throws when the campaign does not exist.
   */
  async updateSummary(campaignId: string, summary: CampaignSummary): Promise<boolean> {
    const result = await this.campaigns.updateOne(
      { _id: campaignId, $or: [{ summary: null }, { 'summary.updatedAt': { $lte: summary.updatedAt } }] },
      { $set: { summary } },
    );
    if (result.matchedCount === 1) return true;

    const exists = await this.campaigns.findOne({ _id: campaignId }, { projection: { _id: 1 } });
    if (exists === null) {
      throw new Error(`campaign ${JSON.stringify(campaignId)} not found; create it before storing its summary`);
    }
    return false;
  }
}

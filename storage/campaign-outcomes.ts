import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';
import { deviceNameSchema, InvalidNameError } from '../protocol';
import type { DeviceOutcome, DeviceOutcomeRecord } from '../workflows/campaign-types';
import { assertBatchSize, hasOnlyDuplicateKeyErrors, insertSkippingDuplicates, MAX_PAGE_SIZE, MAX_UPDATE_BATCH, splitIntoChunks } from './batches';
import { assertCampaignId } from './campaign-store';
import { campaignDeviceKey, campaignKeyRange } from './campaign-targets';
import { isDuplicateKeyError } from './mongo';

export const CAMPAIGN_OUTCOMES_COLLECTION = 'campaign_outcomes';

/** Outcomes that a retry-failed pass upgrades again. */
export const RETRYABLE_OUTCOMES: readonly DeviceOutcome[] = ['failed', 'timed_out'];

const ALL_OUTCOMES: readonly DeviceOutcome[] = ['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'];

// Attempts at replacing one record when each attempt loses an upsert race to a concurrent writer.
const MAX_REPLACE_ATTEMPTS = 3;

/** A device's terminal outcome in a campaign, one document per device per campaign. */
export interface CampaignOutcomeDocument {
  /** Key `{campaignId}:{deviceName}`, built by campaignDeviceKey. */
  _id: string;
  campaign_id: string;
  device_name: string;
  outcome: DeviceOutcome;
  reason: DeviceOutcomeRecord['reason'];
  attempts: number;
  last_progress: number | null;
  run_id: string | null;
  finished_at: Date;
  /** Pass that produced the outcome: 1 for the campaign's first pass, 2 and up for each retry-failed pass. */
  round: number;
}

/** A stored outcome with the pass that produced it. */
export interface CampaignOutcomeRecord extends DeviceOutcomeRecord {
  round: number;
}

/** The terminal outcome of each device of each campaign. */
export class CampaignOutcomes {
  private readonly outcomes: Collection<CampaignOutcomeDocument>;

  constructor(db: Db) {
    this.outcomes = db.collection<CampaignOutcomeDocument>(CAMPAIGN_OUTCOMES_COLLECTION);
  }

  /**
   * Creates the index that serves reads of one campaign's outcomes by outcome in `_id` order, as
   * `list` with an outcome and `readRetryPage` do. Safe to call at every start.
   */
  async ensureIndexes(): Promise<void> {
    await this.outcomes.createIndex({ campaign_id: 1, outcome: 1, _id: 1 }, { name: 'campaign_outcome' });
  }

  /**
   * Stores the outcomes of one pass. Round 1 only inserts, and skips devices that already have a record,
   * so a replayed flush changes nothing. Later rounds replace each device's record, or insert it, unless
   * the stored record comes from a later round: a late replay of an older flush must not overwrite it.
   */
  async record(campaignId: string, outcomes: readonly DeviceOutcomeRecord[], options: { round: number }): Promise<void> {
    assertCampaignId(campaignId);
    const { round } = options;
    if (!Number.isInteger(round) || round < 1) {
      throw new RangeError(`round must be an integer of at least 1 (1 for the first pass), got ${round}`);
    }
    const documents = outcomes.map((outcome) => outcomeDocument(campaignId, outcome, round));

    if (round === 1) {
      await insertSkippingDuplicates(this.outcomes, documents);
      return;
    }
    for (const chunk of splitIntoChunks(documents, MAX_UPDATE_BATCH)) await this.replaceChunk(chunk);
  }

  /** Returns up to `limit` outcomes of the campaign in device key order, after `afterDeviceName`, optionally of one outcome. */
  async list(
    campaignId: string,
    options: { outcome?: DeviceOutcome; afterDeviceName?: string; limit: number },
  ): Promise<CampaignOutcomeRecord[]> {
    assertCampaignId(campaignId);
    assertBatchSize('limit', options.limit, MAX_PAGE_SIZE);
    const filter: Filter<CampaignOutcomeDocument> = {
      campaign_id: campaignId,
      _id: campaignKeyRange(campaignId, options.afterDeviceName ?? null),
    };
    if (options.outcome !== undefined) filter.outcome = options.outcome;
    return this.readPage(filter, options.limit);
  }

  /** Returns up to `limit` outcomes that a retry-failed pass upgrades again (`failed`, `timed_out`), after `afterDeviceName`. */
  async readRetryPage(campaignId: string, afterDeviceName: string | null, limit: number): Promise<CampaignOutcomeRecord[]> {
    assertCampaignId(campaignId);
    assertBatchSize('limit', limit, MAX_PAGE_SIZE);
    return this.readPage(
      { campaign_id: campaignId, outcome: { $in: [...RETRYABLE_OUTCOMES] }, _id: campaignKeyRange(campaignId, afterDeviceName) },
      limit,
    );
  }

  /** Counts the campaign's recorded devices per outcome. Outcomes without devices count 0. */
  async countByOutcome(campaignId: string): Promise<Record<DeviceOutcome, number>> {
    assertCampaignId(campaignId);
    const groups = await this.outcomes
      .aggregate<{ _id: DeviceOutcome; count: number }>([
        { $match: { campaign_id: campaignId } },
        { $group: { _id: '$outcome', count: { $sum: 1 } } },
      ])
      .toArray();

    const counts = Object.fromEntries(ALL_OUTCOMES.map((outcome) => [outcome, 0])) as Record<DeviceOutcome, number>;
    for (const group of groups) {
      if (!ALL_OUTCOMES.includes(group._id)) {
        throw new Error(`campaign ${JSON.stringify(campaignId)} has outcome records with unknown outcome ${JSON.stringify(group._id)}`);
      }
      counts[group._id] = group.count;
    }
    return counts;
  }

  private async readPage(filter: Filter<CampaignOutcomeDocument>, limit: number): Promise<CampaignOutcomeRecord[]> {
    const documents = await this.outcomes.find(filter).sort({ _id: 1 }).limit(limit).toArray();
    return documents.map(outcomeRecord);
  }

  /**
   * Replaces a chunk of at most MAX_UPDATE_BATCH records in one command, except those whose stored record
   * comes from a later round.
   */
  private async replaceChunk(documents: readonly CampaignOutcomeDocument[]): Promise<void> {
    // The rounds are read first, because a filter on `_id` and `round` together made each replacement about
    // four times slower on FerretDB v1.24.2. With 20,000 documents, 50 replacements took 29 s with that
    // filter and 7 s without it, and one `$in` read of 50 `_id`s took about 1.3 s.
    // NOTE: a newer round written between this read and the replacement is still overwritten.
    const stored = await this.outcomes
      .find({ _id: { $in: documents.map((document) => document._id) } }, { projection: { round: 1 } })
      .toArray();
    const storedRounds = new Map(stored.map((document) => [document._id, document.round]));
    const current = documents.filter((document) => (storedRounds.get(document._id) ?? 0) <= document.round);
    if (current.length === 0) return;

    try {
      await this.outcomes.bulkWrite(current.map(replaceOperation), { ordered: true });
      return;
    } catch (error) {
      if (!hasOnlyDuplicateKeyErrors(error)) throw error;
    }
    // A concurrent upsert inserted one of the records first. FerretDB v1.24.2 stops the command at the
    // failed statement, in ordered and unordered mode alike, and reports it as index 0 whatever its
    // position, so which statements ran is unknown. Each record is therefore sent again on its own, and
    // replacing a record with the same content changes nothing.
    for (const document of current) await this.replaceOne(document);
  }

  private async replaceOne(document: CampaignOutcomeDocument): Promise<void> {
    for (let attempt = 1; attempt <= MAX_REPLACE_ATTEMPTS; attempt += 1) {
      try {
        await this.outcomes.replaceOne({ _id: document._id }, document, { upsert: true });
        return;
      } catch (error) {
        // Two upserts of a new `_id` can both try to insert it, and the loser finds it on retry.
        if (!isDuplicateKeyError(error)) throw error;
      }
    }
    throw new Error(
      `replacing the outcome ${JSON.stringify(document._id)} failed ${MAX_REPLACE_ATTEMPTS} times with a duplicate key error; retry the record call`,
    );
  }
}

function replaceOperation(document: CampaignOutcomeDocument) {
  return {
    replaceOne: { filter: { _id: document._id }, replacement: document, upsert: true },
  } satisfies AnyBulkWriteOperation<CampaignOutcomeDocument>;
}

function outcomeDocument(campaignId: string, record: DeviceOutcomeRecord, round: number): CampaignOutcomeDocument {
  const parsedName = deviceNameSchema.safeParse(record.deviceName);
  if (!parsedName.success) {
    throw new InvalidNameError(
      `invalid device name ${JSON.stringify(record.deviceName)} in an outcome of campaign ${JSON.stringify(campaignId)}: ${parsedName.error.issues[0]?.message}`,
    );
  }
  if (!Number.isFinite(record.finishedAt)) {
    throw new RangeError(`finishedAt of device ${record.deviceName} must be milliseconds since the epoch, got ${record.finishedAt}`);
  }
  return {
    _id: campaignDeviceKey(campaignId, record.deviceName),
    campaign_id: campaignId,
    device_name: record.deviceName,
    outcome: record.outcome,
    reason: record.reason,
    attempts: record.attempts,
    last_progress: record.lastProgress,
    run_id: record.runId,
    finished_at: new Date(record.finishedAt),
    round,
  };
}

function outcomeRecord(document: CampaignOutcomeDocument): CampaignOutcomeRecord {
  return {
    deviceName: document.device_name,
    outcome: document.outcome,
    reason: document.reason,
    attempts: document.attempts,
    lastProgress: document.last_progress,
    runId: document.run_id,
    finishedAt: document.finished_at.getTime(),
    round: document.round,
  };
}

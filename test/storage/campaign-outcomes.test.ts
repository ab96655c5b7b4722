import { randomUUID } from 'node:crypto';
import { Collection, MongoClient, type Db } from 'mongodb';
import { CampaignOutcomes, CAMPAIGN_OUTCOMES_COLLECTION, type CampaignOutcomeDocument } from '../../storage/campaign-outcomes';
import type { DeviceOutcome, DeviceOutcomeRecord } from '../../workflows/campaign-types';

let client: MongoClient;
let db: Db;
let outcomes: CampaignOutcomes;

beforeAll(async () => {
  client = new MongoClient(process.env.MONGO_URL!, { serverSelectionTimeoutMS: 5_000 });
  db = client.db(`ota_campaign_outcomes_${randomUUID().slice(0, 8)}`);
  outcomes = new CampaignOutcomes(db);
  await outcomes.ensureIndexes();
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

const FINISHED_AT = Date.parse('2026-04-01T12:00:00Z');

const REASONS: Record<DeviceOutcome, string | null> = {
  succeeded: null,
  failed: 'download_error',
  timed_out: 'stall_timeout',
  skipped: 'already_installed',
  cancelled: 'campaign cancelled',
};

function outcomeOf(deviceName: string, outcome: DeviceOutcome, overrides: Partial<DeviceOutcomeRecord> = {}): DeviceOutcomeRecord {
  return {
    deviceName,
    outcome,
    reason: REASONS[outcome],
    attempts: 1,
    lastProgress: outcome === 'succeeded' ? 100 : 40,
    runId: `run-${deviceName}`,
    finishedAt: FINISHED_AT,
    ...overrides,
  };
}

function deviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `dev-${String(index).padStart(4, '0')}`);
}

// The outcome of device i cycles through every outcome, so each one occurs.
const CYCLE: DeviceOutcome[] = ['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'];

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, awaited: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${awaited} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function storedDocument(campaignId: string, deviceName: string, database: Db = db): Promise<CampaignOutcomeDocument | null> {
  return database.collection<CampaignOutcomeDocument>(CAMPAIGN_OUTCOMES_COLLECTION).findOne({ _id: `${campaignId}:${deviceName}` });
}

describe('CampaignOutcomes.record round 1', () => {
  test('stores the document fields', async () => {
    await outcomes.record('fields', [outcomeOf('dev-1', 'failed', { attempts: 3 })], { round: 1 });

    expect(await storedDocument('fields', 'dev-1')).toEqual({
      _id: 'fields:dev-1',
      campaign_id: 'fields',
      device_name: 'dev-1',
      outcome: 'failed',
      reason: 'download_error',
      attempts: 3,
      last_progress: 40,
      run_id: 'run-dev-1',
      finished_at: new Date(FINISHED_AT),
      round: 1,
    });
  });

  test('replayed flush keeps the first records', async () => {
    const names = deviceNames(1_500);
    const first = names.slice(0, 1_200).map((name) => outcomeOf(name, 'succeeded'));
    await outcomes.record('replay', first, { round: 1 });

    // The replay repeats the first 1,200 with other values and adds 300 new ones, over two insert batches.
    const replay = names.map((name) => outcomeOf(name, 'cancelled', { reason: 'replayed' }));
    await outcomes.record('replay', replay, { round: 1 });

    const counts = await outcomes.countByOutcome('replay');
    expect(counts.succeeded).toBe(1_200);
    expect(counts.cancelled).toBe(300);
    expect((await storedDocument('replay', 'dev-0000'))?.outcome).toBe('succeeded');
    expect((await storedDocument('replay', 'dev-1499'))?.reason).toBe('replayed');
  });

  test('rejects an invalid device name', async () => {
    await expect(outcomes.record('invalid', [outcomeOf('a:b', 'failed')], { round: 1 })).rejects.toThrow(/invalid device name "a:b"/);
  });

  test('rejects round 0', async () => {
    await expect(outcomes.record('invalid', [outcomeOf('dev-1', 'failed')], { round: 0 })).rejects.toThrow(/round must be an integer of at least 1/);
  });
});

describe('CampaignOutcomes retry rounds', () => {
  const names = deviceNames(300);
  // On FerretDB v1.24.2 each replacement costs more the larger the collection, so these cases get a
  // database of their own.
  let retryDb: Db;
  let retryOutcomes: CampaignOutcomes;

  beforeAll(async () => {
    retryDb = client.db(`ota_campaign_retries_${randomUUID().slice(0, 8)}`);
    retryOutcomes = new CampaignOutcomes(retryDb);
    await retryOutcomes.record('retried', names.map((name) => outcomeOf(name, 'failed')), { round: 1 });
  });

  afterAll(async () => {
    await retryDb?.dropDatabase();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  test('round 2 replaces 300 existing records', async () => {
    const replacements = names.map((name) => outcomeOf(name, 'succeeded', { attempts: 2, runId: `retry-${name}`, finishedAt: FINISHED_AT + 60_000 }));
    const bulkWrite = jest.spyOn(Collection.prototype, 'bulkWrite');

    // An update command of 100 or more statements on existing documents never returns on FerretDB v1.24.2,
    // so a hang here means the replacements were not split into small commands.
    await withTimeout(retryOutcomes.record('retried', replacements, { round: 2 }), 60_000, 'replacing 300 outcomes');

    expect(bulkWrite.mock.calls.map(([operations]) => operations.length)).toEqual([50, 50, 50, 50, 50, 50]);
    const counts = await retryOutcomes.countByOutcome('retried');
    expect(counts.succeeded).toBe(300);
    expect(counts.failed).toBe(0);
    expect(await storedDocument('retried', 'dev-0299', retryDb)).toMatchObject({
      round: 2,
      attempts: 2,
      run_id: 'retry-dev-0299',
      finished_at: new Date(FINISHED_AT + 60_000),
    });
  });

  test('late round 1 replay keeps round 2', async () => {
    await retryOutcomes.record('retried', [outcomeOf('dev-0000', 'failed')], { round: 1 });

    expect(await storedDocument('retried', 'dev-0000', retryDb)).toMatchObject({ outcome: 'succeeded', round: 2 });
  });

  test('late round 2 replay keeps round 3', async () => {
    await retryOutcomes.record('retried', [outcomeOf('dev-0010', 'timed_out', { reason: 'round 3' })], { round: 3 });
    const lateReplay = names.slice(0, 60).map((name) => outcomeOf(name, 'failed', { reason: 'late round 2' }));
    const bulkWrite = jest.spyOn(Collection.prototype, 'bulkWrite');

    await withTimeout(retryOutcomes.record('retried', lateReplay, { round: 2 }), 60_000, 'the late round 2 replay');

    // The first chunk of 50 leaves out the device whose stored record is of round 3.
    expect(bulkWrite.mock.calls.map(([operations]) => operations.length)).toEqual([49, 10]);
    expect(await storedDocument('retried', 'dev-0010', retryDb)).toMatchObject({ outcome: 'timed_out', reason: 'round 3', round: 3 });
    expect(await storedDocument('retried', 'dev-0009', retryDb)).toMatchObject({ outcome: 'failed', reason: 'late round 2', round: 2 });
    expect(await storedDocument('retried', 'dev-0011', retryDb)).toMatchObject({ outcome: 'failed', reason: 'late round 2', round: 2 });
    expect(await storedDocument('retried', 'dev-0059', retryDb)).toMatchObject({ outcome: 'failed', reason: 'late round 2', round: 2 });
    expect(await storedDocument('retried', 'dev-0060', retryDb)).toMatchObject({ outcome: 'succeeded', round: 2 });
  });

  test('duplicate key resends records one by one', async () => {
    const realBulkWrite = Collection.prototype.bulkWrite;
    // The first command fails with a real duplicate key error from the server, as when a concurrent
    // upsert inserted one of the records first.
    jest.spyOn(Collection.prototype, 'bulkWrite').mockImplementationOnce(function (this: Collection, _operations, options) {
      return realBulkWrite.call(this, [{ insertOne: { document: { _id: 'retried:dev-0100' } } }], options) as never;
    });
    const replaceOne = jest.spyOn(Collection.prototype, 'replaceOne');
    const raced = ['race-1', 'race-2', 'race-3'].map((name) => outcomeOf(name, 'succeeded'));

    await retryOutcomes.record('retried', raced, { round: 2 });

    expect(replaceOne).toHaveBeenCalledTimes(3);
    expect(await storedDocument('retried', 'race-1', retryDb)).toMatchObject({ outcome: 'succeeded', round: 2 });
    expect(await storedDocument('retried', 'race-3', retryDb)).toMatchObject({ outcome: 'succeeded', round: 2 });
  });

  test('round 2 inserts devices without a record', async () => {
    await retryOutcomes.record('retried', [outcomeOf('new-device', 'skipped', { runId: null, reason: 'already_installed' })], { round: 2 });

    expect(await storedDocument('retried', 'new-device', retryDb)).toMatchObject({ outcome: 'skipped', run_id: null, round: 2 });
  });
});

describe('CampaignOutcomes reads', () => {
  const names = deviceNames(250);

  beforeAll(async () => {
    await outcomes.record('reads', names.map((name, index) => outcomeOf(name, CYCLE[index % CYCLE.length]!)), { round: 1 });
    // Another campaign whose id extends this one must never show up in its reads.
    await outcomes.record('reads2', names.slice(0, 20).map((name) => outcomeOf(name, 'failed')), { round: 1 });
  });

  test('countByOutcome counts each outcome', async () => {
    expect(await outcomes.countByOutcome('reads')).toEqual({ succeeded: 50, failed: 50, timed_out: 50, skipped: 50, cancelled: 50 });
  });

  test('countByOutcome of an unknown campaign is all zero', async () => {
    expect(await outcomes.countByOutcome('reads-none')).toEqual({ succeeded: 0, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 });
  });

  test('list pages through every record', async () => {
    const listed: string[] = [];
    let afterDeviceName: string | undefined;
    for (;;) {
      const page = await outcomes.list('reads', { afterDeviceName, limit: 100 });
      listed.push(...page.map((record) => record.deviceName));
      if (page.length < 100) break;
      afterDeviceName = page.at(-1)!.deviceName;
    }

    expect(listed).toEqual(names);
  });

  test('list returns the record fields', async () => {
    const [first] = await outcomes.list('reads', { limit: 1 });

    expect(first).toEqual({ ...outcomeOf('dev-0000', 'succeeded'), round: 1 });
  });

  test('list filters by outcome', async () => {
    const page = await outcomes.list('reads', { outcome: 'skipped', afterDeviceName: 'dev-0003', limit: 3 });

    expect(page.map((record) => record.deviceName)).toEqual(['dev-0008', 'dev-0013', 'dev-0018']);
    expect(page.every((record) => record.outcome === 'skipped')).toBe(true);
  });

  test('readRetryPage returns failed and timed out', async () => {
    const retry: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await outcomes.readRetryPage('reads', after, 30);
      retry.push(...page.map((record) => record.deviceName));
      if (page.length < 30) break;
      after = page.at(-1)!.deviceName;
    }

    const expected = names.filter((_, index) => CYCLE[index % CYCLE.length] === 'failed' || CYCLE[index % CYCLE.length] === 'timed_out');
    expect(retry).toHaveLength(100);
    expect(retry).toEqual(expected);
  });

  test('rejects a limit out of range', async () => {
    await expect(outcomes.readRetryPage('reads', null, 1_001)).rejects.toThrow(/limit must be an integer from 1 to 1000, got 1001/);
  });
});

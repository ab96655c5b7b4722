import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import {
  CampaignStore,
  campaignIdSchema,
  campaignTargetSpecSchema,
  statusConditionSchema,
  type CampaignDocument,
  type CampaignSummary,
} from '../../storage/campaign-store';
import { DEFAULT_CAMPAIGN_TUNING } from '../../workflows/campaign-input';

const FIRMWARE = { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' };

let client: MongoClient;
let db: Db;
let store: CampaignStore;

beforeAll(async () => {
  client = new MongoClient(process.env.MONGO_URL!, { serverSelectionTimeoutMS: 5_000 });
  db = client.db(`ota_campaign_store_${randomUUID().slice(0, 8)}`);
  store = new CampaignStore(db);
  await store.ensureIndexes();
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

function campaign(id: string, createdAt: Date, overrides: Partial<CampaignDocument> = {}): CampaignDocument {
  return {
    _id: id,
    product_name: 'acme',
    target: { kind: 'all' },
    firmware: FIRMWARE,
    rollout: { batchSize: 10, nested: { failureRatio: 0.1 } },
    upgrade: { maxAttempts: 2 },
    tuning: DEFAULT_CAMPAIGN_TUNING,
    start_at: null,
    created_at: createdAt,
    workflow_id: `campaign:${id}`,
    summary: null,
    ...overrides,
  };
}

function summary(state: CampaignSummary['state'], updatedAt: Date): CampaignSummary {
  const counts = { total: 10, started: 3, succeeded: 2, failed: 1, timedOut: 0, skipped: 0, cancelled: 0 };
  const startedAt = new Date('2026-01-01T00:00:00Z');
  return {
    state,
    counts,
    abortReason: null,
    startedAt,
    endedAt: null,
    updatedAt,
    view: {
      campaignId: 'c',
      productName: 'acme',
      targetVersion: '1.1',
      state,
      round: 1,
      counts,
      inFlight: 0,
      notStarted: 7,
      percentDone: 30,
      abortReason: null,
      firstWave: null,
      startAt: null,
      startedAt: startedAt.getTime(),
      endedAt: null,
      duplicateReports: 0,
      runNumber: 1,
    },
  };
}

describe('CampaignStore.create', () => {
  test('stores and returns a new campaign', async () => {
    const document = campaign('create-new', new Date('2026-02-01T10:00:00Z'), {
      target: { kind: 'filter', where: [{ field: 'firmware_ver', op: 'ne', value: '1.1' }] },
      start_at: new Date('2026-02-02T00:00:00Z'),
    });

    const result = await store.create(document);

    expect(result.created).toBe(true);
    expect(result.campaign).toEqual(document);
    expect(await store.get('create-new')).toEqual(document);
  });

  test('returns the stored campaign on a duplicate id', async () => {
    const first = campaign('create-twice', new Date('2026-02-01T11:00:00Z'));
    await store.create(first);

    const second = await store.create(campaign('create-twice', new Date('2026-02-03T00:00:00Z'), { product_name: 'other' }));

    expect(second.created).toBe(false);
    expect(second.campaign).toEqual(first);
    expect((await store.get('create-twice'))?.product_name).toBe('acme');
  });

  test('rejects an id containing a colon', async () => {
    await expect(store.create(campaign('bad:id', new Date()))).rejects.toThrow(/invalid campaign id "bad:id"/);
  });

  test('get returns null for an unknown id', async () => {
    expect(await store.get('no-such-campaign')).toBeNull();
  });
});

describe('CampaignStore.list', () => {
  let listDb: Db;
  let listStore: CampaignStore;

  beforeAll(async () => {
    listDb = client.db(`ota_campaign_list_${randomUUID().slice(0, 8)}`);
    listStore = new CampaignStore(listDb);
    // Three campaigns share one created_at, so the order among them comes from _id.
    const tied = new Date('2026-03-01T00:00:00Z');
    const documents = [
      campaign('c1', new Date('2026-01-01T00:00:00Z')),
      campaign('c2', new Date('2026-02-01T00:00:00Z')),
      campaign('t-a', tied),
      campaign('t-b', tied),
      campaign('t-c', tied),
      campaign('c3', new Date('2026-04-01T00:00:00Z')),
      campaign('c4', new Date('2026-05-01T00:00:00Z')),
    ];
    for (const document of documents) await listStore.create(document);
  });

  afterAll(async () => {
    await listDb?.dropDatabase();
  });

  test('pages newest first to the end', async () => {
    const ids: string[] = [];
    const pageSizes: number[] = [];
    let before: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await listStore.list({ limit: 2, before });
      ids.push(...page.campaigns.map((document) => document._id));
      pageSizes.push(page.campaigns.length);
      if (page.next === null) break;
      before = page.next;
    }

    expect(ids).toEqual(['c4', 'c3', 't-c', 't-b', 't-a', 'c2', 'c1']);
    expect(pageSizes).toEqual([2, 2, 2, 1]);
  });

  test('returns no cursor when the page holds the rest', async () => {
    const page = await listStore.list({ limit: 7 });

    expect(page.campaigns).toHaveLength(7);
    expect(page.next).toBeNull();
  });

  test('cursor points at the last campaign of the page', async () => {
    const page = await listStore.list({ limit: 3 });

    expect(page.next).toEqual({ createdAt: new Date('2026-03-01T00:00:00Z'), id: 't-c' });
  });

  test('rejects a limit out of range', async () => {
    await expect(listStore.list({ limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 100, got 0/);
    await expect(listStore.list({ limit: 101 })).rejects.toThrow(/got 101/);
  });
});

describe('CampaignStore.updateSummary', () => {
  test('stores a summary and a newer one', async () => {
    await store.create(campaign('summary-newer', new Date()));

    expect(await store.updateSummary('summary-newer', summary('running', new Date('2026-06-01T00:00:00Z')))).toBe(true);
    const newer = summary('completed', new Date('2026-06-01T00:01:00Z'));
    expect(await store.updateSummary('summary-newer', newer)).toBe(true);

    expect((await store.get('summary-newer'))?.summary).toEqual(newer);
  });

  test('keeps a newer summary over a late older one', async () => {
    await store.create(campaign('summary-stale', new Date()));
    const newer = summary('paused', new Date('2026-06-01T00:05:00Z'));
    await store.updateSummary('summary-stale', newer);

    const applied = await store.updateSummary('summary-stale', summary('running', new Date('2026-06-01T00:04:00Z')));

    expect(applied).toBe(false);
    expect((await store.get('summary-stale'))?.summary).toEqual(newer);
  });

  test('rejects an unknown campaign', async () => {
    await expect(store.updateSummary('summary-missing', summary('running', new Date()))).rejects.toThrow(/campaign "summary-missing" not found/);
  });
});

describe('campaign schemas', () => {
  test('accepts each target kind', () => {
    expect(campaignTargetSpecSchema.safeParse({ kind: 'all' }).success).toBe(true);
    expect(campaignTargetSpecSchema.safeParse({ kind: 'devices', deviceNames: ['dev-1', 'dev-2'] }).success).toBe(true);
    expect(
      campaignTargetSpecSchema.safeParse({
        kind: 'filter',
        where: [
          { field: 'firmware_ver', op: 'ne', value: '1.1' },
          { field: 'region', op: 'in', value: ['eu', null, 3, true] },
        ],
      }).success,
    ).toBe(true);
  });

  test.each([
    ['an unknown kind', { kind: 'some' }, /kind must be one of/],
    ['an empty device list', { kind: 'devices', deviceNames: [] }, /at least 1 device name/],
    ['a repeated device name', { kind: 'devices', deviceNames: ['a', 'b', 'a'] }, /lists "a" more than once/],
    ['an invalid device name', { kind: 'devices', deviceNames: ['a:b'] }, /deviceName may contain only/],
    ['an empty filter', { kind: 'filter', where: [] }, /use kind 'all'/],
    ['an extra property', { kind: 'all', where: [] }, /where/],
  ])('rejects %s', (_case, value, message) => {
    const parsed = campaignTargetSpecSchema.safeParse(value);

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join('; ')).toMatch(message);
  });

  test('limits device names to 10,000', () => {
    const names = Array.from({ length: 10_001 }, (_, index) => `dev-${index}`);

    expect(campaignTargetSpecSchema.safeParse({ kind: 'devices', deviceNames: names.slice(0, 10_000) }).success).toBe(true);
    expect(campaignTargetSpecSchema.safeParse({ kind: 'devices', deviceNames: names }).success).toBe(false);
  });

  test('limits a filter to 10 conditions', () => {
    const condition = { field: 'firmware_ver', op: 'eq', value: '1.0' };

    expect(campaignTargetSpecSchema.safeParse({ kind: 'filter', where: Array(10).fill(condition) }).success).toBe(true);
    expect(campaignTargetSpecSchema.safeParse({ kind: 'filter', where: Array(11).fill(condition) }).success).toBe(false);
  });

  test.each([
    ['a dotted field', { field: 'device_status.x', op: 'eq', value: 1 }, /field must match/],
    ['a dollar field', { field: '$where', op: 'eq', value: 1 }, /field must match/],
    ['an unknown op', { field: 'x', op: 'gt', value: 1 }, /op must be one of/],
    ['an array for eq', { field: 'x', op: 'eq', value: [1] }, /Invalid input/],
    ['a scalar for in', { field: 'x', op: 'in', value: 'eu' }, /must be an array/],
    ['an empty in list', { field: 'x', op: 'nin', value: [] }, /at least 1 value/],
    ['an object value', { field: 'x', op: 'eq', value: { $gt: 1 } }, /Invalid input/],
  ])('rejects a condition with %s', (_case, value, message) => {
    const parsed = statusConditionSchema.safeParse(value);

    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join('; ')).toMatch(message);
  });

  test('in takes at most 100 values', () => {
    const values = Array.from({ length: 101 }, (_, index) => `v${index}`);

    expect(statusConditionSchema.safeParse({ field: 'x', op: 'in', value: values.slice(0, 100) }).success).toBe(true);
    expect(statusConditionSchema.safeParse({ field: 'x', op: 'in', value: values }).success).toBe(false);
  });

  test('campaign id rejects a colon', () => {
    expect(campaignIdSchema.safeParse('spring-2026_rollout.1').success).toBe(true);
    expect(campaignIdSchema.safeParse('a:b').success).toBe(false);
    expect(campaignIdSchema.safeParse('').success).toBe(false);
  });
});

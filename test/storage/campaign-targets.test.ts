import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import type { StatusReport } from '../../protocol';
import type { CampaignTargetSpec, StatusCondition } from '../../storage/campaign-store';
import { CampaignTargets, CAMPAIGN_TARGETS_COLLECTION, type PrepareProgress } from '../../storage/campaign-targets';
import { DEVICES_COLLECTION, type DeviceDocument } from '../../storage/device-registry';

let client: MongoClient;
let db: Db;
let targets: CampaignTargets;

beforeAll(async () => {
  client = new MongoClient(process.env.MONGO_URL!, { serverSelectionTimeoutMS: 5_000 });
  db = client.db(`ota_campaign_targets_${randomUUID().slice(0, 8)}`);
  targets = new CampaignTargets(db);
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

async function addDevices(productName: string, devices: Array<[deviceName: string, status: StatusReport]>): Promise<void> {
  const now = new Date();
  const documents: DeviceDocument[] = devices.map(([deviceName, status]) => ({
    _id: `${productName}:${deviceName}`,
    product_name: productName,
    device_name: deviceName,
    device_status: status,
    created_at: now,
    last_report_at: now,
  }));
  await db.collection<DeviceDocument>(DEVICES_COLLECTION).insertMany(documents);
}

async function readAll(campaignId: string, pageSize: number): Promise<string[]> {
  const names: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await targets.readPage(campaignId, after, pageSize);
    names.push(...page);
    if (page.length < pageSize) return names;
    after = page.at(-1)!;
  }
}

function deviceNumbers(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `dev-${String(index).padStart(5, '0')}`);
}

describe('CampaignTargets.prepare', () => {
  beforeAll(async () => {
    await addDevices('acme', [
      ['a-old', { firmware_ver: '1.0', region: 'eu' }],
      ['b-new', { firmware_ver: '1.1', region: 'eu' }],
      ['c-none', {}],
      ['d-old-us', { firmware_ver: '1.0', region: 'us', beta: true }],
      ['e-null', { firmware_ver: null, region: null }],
      ['f-old-ap', { firmware_ver: '1.0', region: 'ap', battery: 80 }],
    ]);
    // Products whose keys sort just before and after "acme:" and must never be included.
    await addDevices('acm', [['x', { firmware_ver: '1.0' }]]);
    await addDevices('acme2', [['x', { firmware_ver: '1.0' }]]);
    await addDevices('acme_b', [['x', { firmware_ver: '1.0' }]]);
    await addDevices('acme.c', [['x', { firmware_ver: '1.0' }]]);
  });

  test('devices stores the given names', async () => {
    const result = await targets.prepare({ id: 'named', productName: 'acme', target: { kind: 'devices', deviceNames: ['z-unknown', 'a-old', 'm'] } });

    expect(result.total).toBe(3);
    expect(await readAll('named', 10)).toEqual(['a-old', 'm', 'z-unknown']);
  });

  test('all stores every device of the product only', async () => {
    const result = await targets.prepare({ id: 'everything', productName: 'acme', target: { kind: 'all' } });

    expect(result.total).toBe(6);
    expect(await readAll('everything', 10)).toEqual(['a-old', 'b-new', 'c-none', 'd-old-us', 'e-null', 'f-old-ap']);
  });

  const filterCases: Array<[string, StatusCondition[], string[]]> = [
    ['ne includes devices without the field', [{ field: 'firmware_ver', op: 'ne', value: '1.1' }], ['a-old', 'c-none', 'd-old-us', 'e-null', 'f-old-ap']],
    ['eq matches the value', [{ field: 'firmware_ver', op: 'eq', value: '1.0' }], ['a-old', 'd-old-us', 'f-old-ap']],
    ['eq null matches missing fields', [{ field: 'region', op: 'eq', value: null }], ['c-none', 'e-null']],
    ['in matches any value', [{ field: 'region', op: 'in', value: ['us', 'ap'] }], ['d-old-us', 'f-old-ap']],
    ['nin includes devices without the field', [{ field: 'region', op: 'nin', value: ['eu', 'us'] }], ['c-none', 'e-null', 'f-old-ap']],
    ['boolean eq and number ne', [{ field: 'beta', op: 'eq', value: true }, { field: 'battery', op: 'ne', value: 80 }], ['d-old-us']],
    [
      'conditions combine with AND',
      [
        { field: 'firmware_ver', op: 'eq', value: '1.0' },
        { field: 'region', op: 'ne', value: 'us' },
      ],
      ['a-old', 'f-old-ap'],
    ],
    [
      'two conditions on one field',
      [
        { field: 'region', op: 'ne', value: 'eu' },
        { field: 'region', op: 'ne', value: null },
      ],
      ['d-old-us', 'f-old-ap'],
    ],
  ];

  test.each(filterCases)('filter: %s', async (_case, where, expected) => {
    const id = `filter-${randomUUID().slice(0, 8)}`;

    const result = await targets.prepare({ id, productName: 'acme', target: { kind: 'filter', where } });

    expect(await readAll(id, 10)).toEqual(expected);
    expect(result.total).toBe(expected.length);
  });

  test('rejects an invalid stored target', async () => {
    const target: CampaignTargetSpec = { kind: 'filter', where: [{ field: 'a.b', op: 'eq', value: 1 }] };

    await expect(targets.prepare({ id: 'broken', productName: 'acme', target })).rejects.toThrow(/invalid target of campaign "broken": where.0.field: field must match/);
  });

  test('rejects a resume key of another product', async () => {
    await expect(
      targets.prepare({ id: 'resume-other', productName: 'acme', target: { kind: 'all' } }, { resumeAfterDeviceKey: 'acme2:x' }),
    ).rejects.toThrow(/resumeAfterDeviceKey "acme2:x" is not a device key of product "acme"/);
  });
});

describe('CampaignTargets at scale', () => {
  const fleet = deviceNumbers(5_000);

  beforeAll(async () => {
    // Every third device already runs the target version.
    await addDevices(
      'fleet',
      fleet.map((deviceName, index) => [deviceName, { firmware_ver: index % 3 === 0 ? '2.0' : '1.9' }]),
    );
  });

  test('all pages through 5,000 devices', async () => {
    const progress: PrepareProgress[] = [];

    const result = await targets.prepare({ id: 'fleet-all', productName: 'fleet', target: { kind: 'all' } }, { onProgress: (step) => void progress.push(step) });

    expect(result.total).toBe(5_000);
    expect(progress.map((step) => step.lastDeviceKey)).toEqual(['fleet:dev-00999', 'fleet:dev-01999', 'fleet:dev-02999', 'fleet:dev-03999', 'fleet:dev-04999']);
    expect(progress.at(-1)?.inserted).toBe(5_000);
  });

  test('readPage returns every target in order', async () => {
    const names = await readAll('fleet-all', 700);

    expect(names).toHaveLength(5_000);
    expect(names).toEqual(fleet);
  });

  test('readPage past the end is empty', async () => {
    expect(await targets.readPage('fleet-all', 'dev-04999', 100)).toEqual([]);
    expect(await targets.readPage('fleet-all', 'dev-04997', 100)).toEqual(['dev-04998', 'dev-04999']);
  });

  test('readPage of an unknown campaign is empty', async () => {
    expect(await targets.readPage('fleet-al', null, 100)).toEqual([]);
  });

  test('filter pages through the matching devices', async () => {
    const result = await targets.prepare(
      { id: 'fleet-outdated', productName: 'fleet', target: { kind: 'filter', where: [{ field: 'firmware_ver', op: 'ne', value: '2.0' }] } },
      { batchSize: 500 },
    );

    const names = await readAll('fleet-outdated', 1_000);
    expect(result.total).toBe(3_333);
    expect(names).toEqual(fleet.filter((_, index) => index % 3 !== 0));
  });

  test('running twice stores the same set', async () => {
    const target = { kind: 'all' } as const;
    await targets.prepare({ id: 'fleet-twice', productName: 'fleet', target });
    const progress: PrepareProgress[] = [];

    const again = await targets.prepare({ id: 'fleet-twice', productName: 'fleet', target }, { onProgress: (step) => void progress.push(step) });

    expect(again.total).toBe(5_000);
    expect(progress.at(-1)?.inserted).toBe(0);
    expect(await db.collection(CAMPAIGN_TARGETS_COLLECTION).countDocuments({ campaign_id: 'fleet-twice' })).toBe(5_000);
  });

  test('resumes after the reported key', async () => {
    const campaign = { id: 'fleet-resume', productName: 'fleet', target: { kind: 'all' } } as const;
    let reported: PrepareProgress | undefined;
    // The first run stops after its second batch, as an activity would when its worker dies.
    const stop = new Error('worker stopped');
    await expect(
      targets.prepare(campaign, {
        batchSize: 800,
        onProgress: (step) => {
          reported = step;
          if (step.inserted >= 1_600) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    expect(reported).toEqual({ lastDeviceKey: 'fleet:dev-01599', inserted: 1_600 });

    const resumedSteps: PrepareProgress[] = [];
    const resumed = await targets.prepare(campaign, {
      batchSize: 800,
      resumeAfterDeviceKey: reported!.lastDeviceKey,
      onProgress: (step) => void resumedSteps.push(step),
    });

    expect(resumed.total).toBe(5_000);
    expect(resumedSteps.at(-1)?.inserted).toBe(3_400);
    expect(resumedSteps[0]?.lastDeviceKey).toBe('fleet:dev-02399');
    expect(await readAll('fleet-resume', 1_000)).toEqual(fleet);
  });

  test('devices resumes after the reported key', async () => {
    const campaign = { id: 'named-resume', productName: 'fleet', target: { kind: 'devices', deviceNames: [...fleet].reverse() } } as const;
    let reported: PrepareProgress | undefined;
    const stop = new Error('worker stopped');
    await expect(
      targets.prepare(campaign, {
        batchSize: 1_000,
        onProgress: (step) => {
          reported = step;
          throw stop;
        },
      }),
    ).rejects.toBe(stop);
    expect(reported).toEqual({ lastDeviceKey: 'fleet:dev-00999', inserted: 1_000 });

    const resumedSteps: PrepareProgress[] = [];
    const resumed = await targets.prepare(campaign, { resumeAfterDeviceKey: reported!.lastDeviceKey, onProgress: (step) => void resumedSteps.push(step) });

    expect(resumed.total).toBe(5_000);
    expect(resumedSteps.map((step) => step.inserted)).toEqual([1_000, 2_000, 3_000, 4_000]);
  });
});

import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { DeviceRegistry } from '../../storage/device-registry';

let client: MongoClient;
let db: Db;
let registry: DeviceRegistry;

beforeAll(async () => {
  client = new MongoClient(process.env.MONGO_URL!, { serverSelectionTimeoutMS: 5_000 });
  db = client.db(`ota_device_registry_${randomUUID().slice(0, 8)}`);
  registry = new DeviceRegistry(db);
  await registry.ensureIndexes();

  const receivedAt = new Date('2026-04-01T00:00:00Z');
  await registry.recordStatus({ productName: 'acme', deviceName: 'dev-1' }, { firmware_ver: '1.0', region: 'eu' }, receivedAt);
  await registry.recordStatus({ productName: 'acme', deviceName: 'dev-2' }, { firmware_ver: '1.1' }, receivedAt);
  await registry.recordStatus({ productName: 'acme', deviceName: 'dev-3' }, { region: 'us' }, receivedAt);
  await registry.recordProgress({ productName: 'acme', deviceName: 'dev-4' }, { version: '1.1', type: 'firmware', progress: 10 }, 'm1', receivedAt);
  await registry.recordStatus({ productName: 'other', deviceName: 'dev-5' }, { firmware_ver: '9.9' }, receivedAt);
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

describe('DeviceRegistry.findFirmwareVersions', () => {
  test('returns each requested device', async () => {
    const versions = await registry.findFirmwareVersions('acme', ['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5', 'unknown']);

    expect(versions).toEqual(
      new Map([
        ['dev-1', '1.0'],
        ['dev-2', '1.1'],
        ['dev-3', undefined],
        ['dev-4', undefined],
        ['dev-5', undefined],
        ['unknown', undefined],
      ]),
    );
  });

  test('reads only the given product', async () => {
    const versions = await registry.findFirmwareVersions('other', ['dev-1', 'dev-5']);

    expect(versions.get('dev-5')).toBe('9.9');
    expect(versions.get('dev-1')).toBeUndefined();
  });

  test('empty list returns an empty map', async () => {
    expect((await registry.findFirmwareVersions('acme', [])).size).toBe(0);
  });

  test('reads 500 devices in one call', async () => {
    const names = Array.from({ length: 500 }, (_, index) => `bulk-${index}`);
    const now = new Date();
    await db.collection('devices').insertMany(
      names.map((deviceName, index) => ({
        _id: `acme:${deviceName}`,
        product_name: 'acme',
        device_name: deviceName,
        device_status: { firmware_ver: `1.${index}` },
        created_at: now,
        last_report_at: now,
      })) as never[],
    );

    const versions = await registry.findFirmwareVersions('acme', names);

    expect(versions.size).toBe(500);
    expect(versions.get('bulk-0')).toBe('1.0');
    expect(versions.get('bulk-499')).toBe('1.499');
  });

  test('rejects more than 1,000 names', async () => {
    const names = Array.from({ length: 1_001 }, (_, index) => `dev-${index}`);

    await expect(registry.findFirmwareVersions('acme', names)).rejects.toThrow(/at most 1000 device names per call, got 1001/);
  });
});

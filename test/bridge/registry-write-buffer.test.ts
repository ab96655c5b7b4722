import { ObjectId } from 'bson';
import pino from 'pino';
import { RegistryWriteBuffer, type RegistryWriteBufferOptions } from '../../bridge/registry-write-buffer';
import type { DeviceReportEntry } from '../../storage/device-registry';

const OPTIONS: RegistryWriteBufferOptions = { flushIntervalMs: 1_000, progressFlushIntervalMs: 5_000, flushSize: 1_000, maxPendingDevices: 100, rememberedDevices: 100 };
const ref = (deviceName: string) => ({ productName: 'lamp', deviceName });
const report = (progress: number) => ({ version: '1.1', type: 'firmware', progress, desc: '' });

describe('RegistryWriteBuffer', () => {
  let writes: { deviceName: string; progress: number | undefined; status: boolean }[][];
  let buffer: RegistryWriteBuffer;

  beforeEach(() => {
    jest.useFakeTimers();
    writes = [];
    const writer = {
      async recordReports(entries: readonly DeviceReportEntry[]): Promise<void> {
        writes.push(entries.map((entry) => ({ deviceName: entry.ref.deviceName, progress: entry.progress?.report.progress, status: entry.status !== undefined })));
      },
    };
    buffer = new RegistryWriteBuffer(writer, pino({ level: 'silent' }), OPTIONS);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('holds intermediate progress five seconds', async () => {
    buffer.addProgress(ref('a'), report(10), new ObjectId().toHexString(), new Date());
    await jest.advanceTimersByTimeAsync(1_000);
    buffer.addProgress(ref('a'), report(40), new ObjectId().toHexString(), new Date());
    await jest.advanceTimersByTimeAsync(3_000);
    expect(writes).toEqual([]);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(writes).toEqual([[{ deviceName: 'a', progress: 40, status: false }]]);
  });

  it('writes outcome reports at the next flush', async () => {
    buffer.addProgress(ref('a'), report(60), new ObjectId().toHexString(), new Date());
    buffer.addProgress(ref('b'), report(30), new ObjectId().toHexString(), new Date());
    buffer.addProgress(ref('c'), report(20), new ObjectId().toHexString(), new Date());
    buffer.addStatus(ref('a'), { firmware_ver: '1.1' }, new ObjectId().toHexString(), new Date());
    buffer.addProgress(ref('b'), report(100), new ObjectId().toHexString(), new Date());
    buffer.addProgress(ref('c'), report(-2), new ObjectId().toHexString(), new Date());
    buffer.addProgress(ref('d'), report(50), new ObjectId().toHexString(), new Date());

    await jest.advanceTimersByTimeAsync(1_000);
    expect(writes).toEqual([
      [
        { deviceName: 'a', progress: 60, status: true },
        { deviceName: 'b', progress: 100, status: false },
        { deviceName: 'c', progress: -2, status: false },
      ],
    ]);
    expect(buffer.counts().pendingDevices).toBe(1);
  });

  it('writes everything pending at stop', async () => {
    buffer.addProgress(ref('a'), report(10), new ObjectId().toHexString(), new Date());
    await buffer.stop();
    expect(writes).toEqual([[{ deviceName: 'a', progress: 10, status: false }]]);
    expect(buffer.counts().pendingDevices).toBe(0);
  });
});

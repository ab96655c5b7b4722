import pino from 'pino';
import { ProgressCoalescer } from '../../bridge/progress-coalescer';
import type { SignalResult } from '../../bridge/upgrade-signaller';
import type { ProgressSignal } from '../../workflows/upgrade-tracker';

const INTERVAL_MS = 2_000;
const ref = (deviceName: string) => ({ productName: 'lamp', deviceName });

function progress(value: number, messageId: string): ProgressSignal {
  return { messageId, version: '1.1', type: 'firmware', progress: value, desc: '', receivedAt: 0 };
}

describe('ProgressCoalescer', () => {
  let sent: { deviceName: string; progress: number }[];
  let coalescer: ProgressCoalescer;

  beforeEach(() => {
    jest.useFakeTimers();
    sent = [];
    const send = async (device: { deviceName: string }, signal: ProgressSignal): Promise<SignalResult> => {
      sent.push({ deviceName: device.deviceName, progress: signal.progress });
      return 'signalled';
    };
    coalescer = new ProgressCoalescer(send, INTERVAL_MS, pino({ level: 'silent' }));
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends decisive progress at once', async () => {
    expect(await coalescer.submit(ref('a'), progress(0, '01'), 0)).toBe('signalled');
    expect(await coalescer.submit(ref('a'), progress(100, '02'), 10)).toBe('signalled');
    expect(await coalescer.submit(ref('a'), progress(-1, '03'), 20)).toBe('signalled');
    expect(sent.map((signal) => signal.progress)).toEqual([0, 100, -1]);
  });

  it('holds back intermediate progress within the interval', async () => {
    await coalescer.submit(ref('a'), progress(0, '01'), Date.now());
    expect(await coalescer.submit(ref('a'), progress(20, '02'), Date.now())).toBe('coalesced');
    expect(await coalescer.submit(ref('a'), progress(40, '03'), Date.now())).toBe('coalesced');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(sent.map((signal) => signal.progress)).toEqual([0, 40]);
    expect(coalescer.coalesced).toBe(1);
  });

  it('forgets devices that only sent decisive progress', async () => {
    for (let index = 0; index < 100; index += 1) {
      await coalescer.submit(ref(`device-${index}`), progress(0, '01'), Date.now());
      await coalescer.submit(ref(`device-${index}`), progress(100, '02'), Date.now());
    }
    expect(coalescer.trackedDevices).toBe(100);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS + 1);
    expect(coalescer.trackedDevices).toBe(0);
  });

  it('forgets a device one interval after its held-back value', async () => {
    await coalescer.submit(ref('a'), progress(0, '01'), Date.now());
    await coalescer.submit(ref('a'), progress(50, '02'), Date.now());
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(sent.map((signal) => signal.progress)).toEqual([0, 50]);
    expect(coalescer.trackedDevices).toBe(1);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(coalescer.trackedDevices).toBe(0);
  });
});

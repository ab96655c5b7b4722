import { progressPercents } from '../device-sim/report-plan';
import { fleetDeviceName } from '../device-sim/fleet';

/** Product of every simulated device in a benchmark run. */
export const BENCH_PRODUCT = 'bench';

/** Firmware the devices run before the campaign. */
export const START_VERSION = '1.0';

/** Firmware every run installs; the URL is never fetched, because simulated devices only report progress. */
export const BENCH_FIRMWARE = {
  type: 'firmware',
  url: 'http://firmware.example/bench-1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'c4ca4238a0b923820dcc509a6f75849b',
};

/** Pacing of each device and the window of devices at once, the same for the engine run and both floors. */
export interface Workload {
  /** Progress steps from 0 to 100: 10 gives 0, 10, ..., 100, so 11 progress reports. */
  steps: number;
  /** Time between two progress reports, in milliseconds. */
  stepIntervalMs: number;
  /** Time from progress 100 to the report of the new firmware_ver, in milliseconds. */
  installDelayMs: number;
  /** Devices upgrading at once: the campaign's maxConcurrent and the floors' window. */
  window: number;
}

/** Reports one device publishes per upgrade: each progress value, then its status with the new version. */
export function reportsPerDevice(workload: Workload): number {
  return progressPercents(workload.steps).length + 1;
}

/** Time of each report after the command arrives, in milliseconds, in the order the device sends them. */
export function reportOffsetsMs(workload: Workload): number[] {
  const progress = progressPercents(workload.steps).map((_, index) => index * workload.stepIntervalMs);
  const lastProgress = progress[progress.length - 1] ?? 0;
  return [...progress, lastProgress + workload.installDelayMs];
}

/** Time from the command to the last report of one device, in milliseconds. */
export function deviceRunMs(workload: Workload): number {
  const offsets = reportOffsetsMs(workload);
  return offsets[offsets.length - 1] ?? 0;
}

/**
 * Devices per minute that the pacing alone allows: the window full all the time and every device
 * taking exactly deviceRunMs. No run can exceed it, so it puts the other figures in proportion.
 */
export function pacingBoundPerMinute(workload: Workload, size: number): number {
  return (60_000 * Math.min(size, workload.window)) / Math.max(deviceRunMs(workload), 1);
}

/** Device names of a fleet of `size`, as the simulator names them: dev-00001 onwards. */
export function deviceNames(size: number): string[] {
  return Array.from({ length: size }, (_, index) => fleetDeviceName('dev-', index + 1));
}

/** About `sampleSize` device names spread evenly over the fleet, always including the first. */
export function sampleDeviceNames(size: number, sampleSize: number): string[] {
  const step = Math.max(1, Math.floor(size / Math.max(sampleSize, 1)));
  const names: string[] = [];
  for (let index = 0; index < size && names.length < sampleSize; index += step) names.push(fleetDeviceName('dev-', index + 1));
  return names;
}

/**
 * Picks `count` of the report offsets, evenly spread and always with the first and the last, so a
 * floor that sends fewer signals than a device sends reports keeps the device's timeline.
 */
export function pickOffsets(offsets: readonly number[], count: number): number[] {
  if (count >= offsets.length) return [...offsets];
  if (count <= 1) return [offsets[offsets.length - 1] ?? 0];
  const picked: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const position = Math.round((index * (offsets.length - 1)) / (count - 1));
    picked.push(offsets[position] ?? 0);
  }
  return picked;
}

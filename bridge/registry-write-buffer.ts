import { deviceKey, ProgressCode, type DeviceRef, type ProgressReport, type StatusReport } from '../protocol';
import type { Logger } from '../observability/logger';
import type { DeviceReportEntry } from '../storage/device-registry';

export interface RegistryWriter {
  recordReports(entries: readonly DeviceReportEntry[]): Promise<void>;
}

export interface RegistryWriteBufferOptions {
  /** Maximum time a status report, progress 100 or an error code waits before it is written, in milliseconds. */
  flushIntervalMs: number;
  /** Maximum time other progress waits before it is written, in milliseconds. */
  progressFlushIntervalMs: number;
  /** Devices with pending reports that start a flush at once. */
  flushSize: number;
  /** Devices with pending reports at which `waitForCapacity` holds reports back. */
  maxPendingDevices: number;
  /** Devices whose last written message id is remembered to drop late reports; oldest are forgotten first. */
  rememberedDevices: number;
}

// One second, because at 200 ms a device reporting every 200 ms cost one statement per report. On a
// 1,000-device campaign FerretDB then spent 89 CPU seconds, and 50 at one second (docs/performance.md).
// Intermediate progress waits up to five seconds. A download of a few seconds then costs one statement,
// written with its outcome, instead of three. On FerretDB this cut its CPU per device (docs/performance.md).
export const DEFAULT_WRITE_BUFFER_OPTIONS: RegistryWriteBufferOptions = {
  flushIntervalMs: 1_000,
  progressFlushIntervalMs: 5_000,
  flushSize: 1_000,
  maxPendingDevices: 20_000,
  rememberedDevices: 200_000,
};

interface PendingEntry {
  ref: DeviceRef;
  /** When the entry's oldest unwritten report arrived, from Date.now(). */
  since: number;
  /** True when the entry contains a status report, progress 100 or an error code, which go out at the next flush. */
  urgent: boolean;
  progress?: { report: ProgressReport; messageId: string; receivedAt: Date };
  status?: { fields: StatusReport; messageId: string; receivedAt: Date };
}

const RETRY_DELAYS_MS = [200, 500, 1_000, 2_000, 5_000];

/**
 * Write-behind buffer for the device registry. Each MongoDB write costs more as the collection grows
 * (on FerretDB v1.24.2: 168 ms per update at 50,000 devices), so reports are coalesced per device and
 * written in batches: a device that reports six progress steps within one interval costs one statement.
 *
 * Reports can arrive out of order, for example through several bridge connections. Message ids are
 * BSON ObjectIds, which grow with the device's clock and a per-process counter, so a report whose id is
 * not newer than the last one pending or written for the device is a late one and is dropped, unless
 * it is more than a minute older: then the device's clock went back, and its reports are new after all.
 *
 * NOTE: reports still pending when the process is killed are lost from the registry. Their signals have
 * reached the workflows already, and devices report their status again when they reconnect.
 */
export class RegistryWriteBuffer {
  private pending = new Map<string, PendingEntry>();
  private readonly lastWritten = new Map<string, { progress?: string; status?: string }>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private capacityWaiters: (() => void)[] = [];
  private stopped = false;
  private writtenCount = 0;
  private droppedLateCount = 0;

  constructor(
    private readonly writer: RegistryWriter,
    private readonly logger: Logger,
    private readonly options: RegistryWriteBufferOptions = DEFAULT_WRITE_BUFFER_OPTIONS,
  ) {}

  /** Statements written and late reports dropped so far. */
  counts(): { written: number; droppedLate: number; pendingDevices: number } {
    return { written: this.writtenCount, droppedLate: this.droppedLateCount, pendingDevices: this.pending.size };
  }

  /** Queues a progress report; returns false when it is older than one already queued or written. */
  addProgress(ref: DeviceRef, report: ProgressReport, messageId: string, receivedAt: Date): boolean {
    const key = deviceKey(ref);
    const entry = this.entryFor(key, ref);
    // A pending id is the latest accepted one: newer than the written one, or after a clock reset.
    const newest = entry.progress?.messageId ?? this.lastWritten.get(key)?.progress;
    if (isLate(messageId, newest)) {
      this.droppedLateCount += 1;
      return false;
    }
    entry.progress = { report, messageId, receivedAt };
    if (report.progress < 0 || report.progress === ProgressCode.DOWNLOAD_COMPLETE) entry.urgent = true;
    this.scheduleFlush();
    return true;
  }

  /** Queues a status report, merged field by field over the fields of older pending reports. */
  addStatus(ref: DeviceRef, fields: StatusReport, messageId: string, receivedAt: Date): boolean {
    const key = deviceKey(ref);
    const entry = this.entryFor(key, ref);
    const newest = entry.status?.messageId ?? this.lastWritten.get(key)?.status;
    if (isLate(messageId, newest)) {
      this.droppedLateCount += 1;
      return false;
    }
    entry.status = { fields: { ...entry.status?.fields, ...fields }, messageId, receivedAt };
    entry.urgent = true;
    this.scheduleFlush();
    return true;
  }

  /** Resolves once fewer devices are pending than the limit, so a slow database slows the bridge down. */
  async waitForCapacity(): Promise<void> {
    while (this.pending.size >= this.options.maxPendingDevices && !this.stopped) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  /** Writes everything pending and stops the timer; later reports are written by explicit flushes only. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // On a slow database this last write can take many seconds, so the log shows what the stop waits for.
    const flushStartedAt = Date.now();
    const pendingDevices = this.pending.size;
    if (pendingDevices > 0) this.logger.info({ pendingDevices }, 'writing pending device reports before stop');
    await this.flush({ all: true });
    if (pendingDevices > 0) this.logger.info({ pendingDevices, durationMs: Date.now() - flushStartedAt }, 'wrote pending device reports');
    this.releaseWaiters();
  }

  /**
   * Writes what is due now, or everything pending with `all`, after any flush in progress. Retries until
   * it succeeds unless the buffer is stopped.
   */
  async flush(options: { all?: boolean } = {}): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.writePending(options.all ?? false).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private entryFor(key: string, ref: DeviceRef): PendingEntry {
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { ref, since: Date.now(), urgent: false };
      this.pending.set(key, entry);
    }
    return entry;
  }

  private scheduleFlush(): void {
    if (this.pending.size >= this.options.flushSize) {
      void this.flush({ all: true });
      return;
    }
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.flushIntervalMs);
  }

  private async writePending(all: boolean): Promise<void> {
    const batch = new Map<string, PendingEntry>();
    const dueSince = Date.now() - this.options.progressFlushIntervalMs;
    for (const [key, entry] of this.pending) {
      if (all || entry.urgent || entry.since <= dueSince) batch.set(key, entry);
    }
    for (const key of batch.keys()) this.pending.delete(key);
    if (batch.size === 0) {
      this.scheduleFlush();
      return;
    }
    const entries: DeviceReportEntry[] = [...batch.values()].map((entry) => ({
      ref: entry.ref,
      ...(entry.progress ? { progress: entry.progress } : {}),
      ...(entry.status ? { status: { fields: entry.status.fields, receivedAt: entry.status.receivedAt } } : {}),
    }));

    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.writer.recordReports(entries);
        break;
      } catch (error) {
        if (this.stopped && attempt >= 2) {
          this.logger.error({ err: error, devices: entries.length }, 'failed to write device reports to the registry; giving up at stop');
          return;
        }
        const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        this.logger.error({ err: error, devices: entries.length, attempt: attempt + 1, retryInMs: delay }, 'failed to write device reports to the registry, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }

    this.writtenCount += entries.length;
    for (const [key, entry] of batch) this.remember(key, entry);
    this.releaseWaiters();
    if (this.pending.size > 0 && !this.stopped) this.scheduleFlush();
  }

  private remember(key: string, entry: PendingEntry): void {
    const previous = this.lastWritten.get(key);
    // Deleting before setting moves the key to the end, so the map's order is least recently written first.
    this.lastWritten.delete(key);
    this.lastWritten.set(key, {
      progress: entry.progress?.messageId ?? previous?.progress,
      status: entry.status?.messageId ?? previous?.status,
    });
    while (this.lastWritten.size > this.options.rememberedDevices) {
      const oldest = this.lastWritten.keys().next().value;
      if (oldest === undefined) break;
      this.lastWritten.delete(oldest);
    }
  }

  private releaseWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

// Reordering on the way to the bridge spans seconds; an id older than this comes from a reset clock.
const MAX_REORDER_SECONDS = 60;

/** True for a repeated id, or one less than a minute older than `newest`. */
export function isLate(messageId: string, newest: string | undefined): boolean {
  if (newest === undefined || messageId > newest) return false;
  if (messageId === newest) return true;
  // The first 8 hex digits of an ObjectId are its creation time in seconds.
  return Number.parseInt(newest.slice(0, 8), 16) - Number.parseInt(messageId.slice(0, 8), 16) <= MAX_REORDER_SECONDS;
}

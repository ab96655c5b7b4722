import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REPORT_OUTCOMES, type ReportOutcome } from '../bridge/report-handler';
import type { SignalResult } from '../bridge/upgrade-signaller';
import type { DeviceReportEntry } from '../storage/device-registry';

/** The two signals the bridge sends to an upgrade workflow. */
export type SignalKind = 'progress' | 'status';

/** Result of one signal call: what the signaller returned, or `error` when it threw and the report is retried. */
export type SignalCallResult = SignalResult | 'error';

const SIGNAL_KINDS: readonly SignalKind[] = ['progress', 'status'];
const SIGNAL_RESULTS = ['signalled', 'no_running_upgrade', 'rejected', 'rate_limited', 'error'] as const satisfies readonly SignalCallResult[];

// A signal is one gRPC call to the Temporal frontend: milliseconds when healthy, up to the client's
// deadline when the server is overloaded.
const SIGNAL_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// One registry batch is one bulk write; on FerretDB it grows with the collection to seconds.
const WRITE_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Counters of the bridge: each MQTT report from its arrival to its outcome, the signal calls to
 * Temporal and the batched writes to the device registry.
 */
export class BridgeMetrics {
  readonly reportsReceived: Counter;
  readonly reportsHandled: Counter<'outcome'>;
  readonly reportErrors: Counter;
  readonly signals: Counter<'signal' | 'result'>;
  readonly signalDuration: Histogram<'signal' | 'result'>;
  readonly registryWriteBatches: Counter<'result'>;
  readonly registryWrittenEntries: Counter;
  readonly registryWriteDuration: Histogram<'result'>;
  private readPendingEntries: () => number = () => 0;

  constructor(registry: Registry) {
    if (registry.getSingleMetric('ota_bridge_reports_received_total')) {
      throw new Error('the metrics registry already contains bridge metrics: run one bridge service per ProcessMetrics, or give each bridge its own');
    }
    const registers = [registry];
    this.reportsReceived = new Counter({
      name: 'ota_bridge_reports_received_total',
      help: 'MQTT messages the bridge took from the broker, counted once each however often handling is retried',
      registers,
    });
    this.reportsHandled = new Counter({
      name: 'ota_bridge_reports_handled_total',
      help: 'MQTT messages handled, by outcome: rejected_* by the reason of the rejection, ignored_late, coalesced, rate_limited, signal_rejected, stored_no_upgrade, stored_no_version or signalled',
      labelNames: ['outcome'],
      registers,
    });
    this.reportErrors = new Counter({
      name: 'ota_bridge_report_errors_total',
      help: 'Failed attempts to handle a message because MongoDB or Temporal was unavailable; each is retried',
      registers,
    });
    this.signals = new Counter({
      name: 'ota_bridge_signals_total',
      help: 'Signals to upgrade workflows, by signal and result; rate_limited ones were not sent, error ones threw and are retried',
      labelNames: ['signal', 'result'],
      registers,
    });
    this.signalDuration = new Histogram({
      name: 'ota_bridge_signal_duration_seconds',
      help: 'Duration of the Temporal signal call, by signal and result',
      labelNames: ['signal', 'result'],
      buckets: SIGNAL_BUCKETS_SECONDS,
      registers,
    });
    this.registryWriteBatches = new Counter({
      name: 'ota_bridge_registry_write_batches_total',
      help: 'Batched writes of device reports to the registry, by result; a failed batch is retried',
      labelNames: ['result'],
      registers,
    });
    this.registryWrittenEntries = new Counter({
      name: 'ota_bridge_registry_written_entries_total',
      help: 'Registry entries written, one per device per batch with its latest progress and status',
      registers,
    });
    this.registryWriteDuration = new Histogram({
      name: 'ota_bridge_registry_write_duration_seconds',
      help: 'Duration of one batched registry write, by result',
      labelNames: ['result'],
      buckets: WRITE_BUCKETS_SECONDS,
      registers,
    });

    // The registry keeps the gauge, and prom-client calls its collect() at each scrape with the gauge
    // as `this`.
    const readPending = () => this.readPendingEntries();
    new Gauge({
      name: 'ota_bridge_registry_pending_entries',
      help: 'Devices whose latest reports wait in the write buffer for the next registry batch',
      registers,
      collect() {
        this.set(readPending());
      },
    });

    // Every labelled series starts at zero, so a rate over it exists before the first event.
    for (const outcome of REPORT_OUTCOMES) this.reportsHandled.inc({ outcome }, 0);
    for (const signal of SIGNAL_KINDS) {
      for (const result of SIGNAL_RESULTS) this.signals.inc({ signal, result }, 0);
    }
    for (const result of ['written', 'failed']) this.registryWriteBatches.inc({ result }, 0);
  }

  /** Sets where the pending-entries gauge reads its value at each scrape. */
  observePendingEntries(read: () => number): void {
    this.readPendingEntries = read;
  }

  countHandled(outcome: ReportOutcome): void {
    this.reportsHandled.inc({ outcome });
  }

  /** Counts a signal that the device's rate limit held back, so no call was made. */
  countRateLimited(signal: SignalKind): 'rate_limited' {
    this.signals.inc({ signal, result: 'rate_limited' });
    return 'rate_limited';
  }

  /** Runs one signal call, timing it and counting its result; an error is counted and thrown on. */
  async timeSignal(signal: SignalKind, call: () => Promise<SignalResult>): Promise<SignalResult> {
    const stopTimer = this.signalDuration.startTimer({ signal });
    let result: SignalCallResult = 'error';
    try {
      result = await call();
      return result;
    } finally {
      stopTimer({ result });
      this.signals.inc({ signal, result });
    }
  }

  /** Wraps the registry's batch write so that each batch is timed and counted with its entries. */
  instrumentRegistryWriter<W extends { recordReports(entries: readonly DeviceReportEntry[]): Promise<void> }>(
    writer: W,
  ): { recordReports(entries: readonly DeviceReportEntry[]): Promise<void> } {
    return {
      recordReports: async (entries) => {
        const stopTimer = this.registryWriteDuration.startTimer();
        try {
          await writer.recordReports(entries);
        } catch (error) {
          stopTimer({ result: 'failed' });
          this.registryWriteBatches.inc({ result: 'failed' });
          throw error;
        }
        stopTimer({ result: 'written' });
        this.registryWriteBatches.inc({ result: 'written' });
        this.registryWrittenEntries.inc(entries.length);
      },
    };
  }
}

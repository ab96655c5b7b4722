import { Client, Connection } from '@temporalio/client';
import { ConfigError } from '../config/env';
import type { BridgeSettings, MetricsServerSettings, MongoSettings, MqttSettings, TemporalSettings } from '../config/settings';
import { productReportTopicFilters, REPORT_TOPIC_FILTERS, type DeviceRef } from '../protocol';
import { connectMqtt } from '../messaging/mqtt-connection';
import { BridgeMetrics, type SignalKind } from '../metrics/bridge-metrics';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server';
import { ProcessMetrics } from '../metrics/process-metrics';
import type { Logger } from '../observability/logger';
import { DeviceRegistry } from '../storage/device-registry';
import { connectMongo } from '../storage/mongo';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { startBridge, type Bridge, type BridgeCounts } from './bridge';
import { DeviceSignalLimiter } from './device-signal-limiter';
import { isDecisiveProgress, ProgressCoalescer } from './progress-coalescer';
import { RegistryWriteBuffer } from './registry-write-buffer';
import { ReportHandler } from './report-handler';
import { UpgradeSignaller, type SignalResult } from './upgrade-signaller';

const COUNTS_LOG_INTERVAL_MS = 60_000;

export interface BridgeService {
  counts(): BridgeCounts;
  /** URL of the bridge's own metrics endpoint; undefined when it serves none. */
  readonly metricsUrl: string | undefined;
  /** Stops taking reports, finishes the one in hand, then closes the connections. */
  stop(): Promise<void>;
}

/**
 * Connects to MongoDB, Temporal and the broker and forwards device reports until stopped. The bridge
 * registers its metrics in `metrics`, or in a registry of its own when left out, and serves them at
 * `metricsServer` when given. With `productNames` it takes only the reports of those products; without
 * it, every report on the broker.
 */
export async function startBridgeService(options: {
  temporal: TemporalSettings;
  mongo: MongoSettings;
  mqtt: MqttSettings;
  bridge: BridgeSettings;
  logger: Logger;
  metrics?: ProcessMetrics;
  metricsServer?: MetricsServerSettings;
  productNames?: readonly string[];
}): Promise<BridgeService> {
  const { logger, bridge: settings } = options;
  if (settings.connections > 1 && !settings.sharedSubscription) {
    throw new ConfigError('invalid configuration: BRIDGE_CONNECTIONS above 1 needs BRIDGE_SHARED_SUBSCRIPTION=true, or every connection would handle every report');
  }
  // Checked before anything connects, so an invalid product name leaves nothing to close.
  const reportFilters = options.productNames ? productReportTopicFilters(options.productNames) : REPORT_TOPIC_FILTERS;
  const mongo = await connectMongo(options.mongo, logger);
  const registry = new DeviceRegistry(mongo.db);
  await registry.ensureIndexes();
  const connection = await Connection.connect(temporalConnectionOptions(options.temporal));
  const client = new Client({ connection, namespace: options.temporal.namespace });

  const processMetrics = options.metrics ?? new ProcessMetrics(logger);
  const metrics = new BridgeMetrics(processMetrics.registry);
  const writeBuffer = new RegistryWriteBuffer(metrics.instrumentRegistryWriter(registry), logger);
  metrics.observePendingEntries(() => writeBuffer.counts().pendingDevices);
  const signaller = new UpgradeSignaller(client, logger);
  // Every signal passes a rate limit of its device first, and only those it lets through reach Temporal.
  // Reports that can end an attempt (progress 0, 100, error codes, firmware_ver) have a budget of their own.
  // A device that floods intermediate progress then cannot use up the signal that completes its upgrade.
  // A device sends a handful of decisive reports per attempt, so their budget refills five times slower:
  // a device flooding both kinds causes at most about 2,200 signals an hour.
  const routineLimiter = new DeviceSignalLimiter();
  const decisiveLimiter = new DeviceSignalLimiter({ burst: 20, perSecond: 0.1 });
  function limited<S>(kind: SignalKind, isDecisive: (signal: S) => boolean, send: (ref: DeviceRef, signal: S) => Promise<SignalResult>) {
    return async (ref: DeviceRef, signal: S): Promise<SignalResult> => {
      const limiter = isDecisive(signal) ? decisiveLimiter : routineLimiter;
      if (!limiter.allow(ref)) return metrics.countRateLimited(kind);
      return metrics.timeSignal(kind, () => send(ref, signal));
    };
  }
  const coalescer = new ProgressCoalescer(
    limited('progress', (signal) => isDecisiveProgress(signal.progress), (ref, signal) => signaller.signalProgress(ref, signal)),
    settings.progressSignalIntervalMs,
    logger,
  );
  const handler = new ReportHandler({
    registry: writeBuffer,
    signaller: {
      signalProgress: (ref, signal) => coalescer.submit(ref, signal),
      signalStatus: limited('status', () => true, (ref, signal) => signaller.signalStatus(ref, signal)),
    },
    logger,
  });

  // Several connections on a shared subscription handle reports in parallel, each one at a time; the
  // broker hands each report to one of them. Bridges in other processes may join the same group.
  const topicFilters = settings.sharedSubscription
    ? reportFilters.map((filter) => `$share/${settings.shareGroup}/${filter}`)
    : reportFilters;
  const bridges: Bridge[] = [];
  let metricsServer: MetricsServer | undefined;
  try {
    // Started before any report is taken, so a port that is taken fails the start with nothing to undo.
    if (options.metricsServer) {
      metricsServer = await startMetricsServer(processMetrics, { ...options.metricsServer, portSetting: 'BRIDGE_METRICS_PORT', logger });
    }
    for (let index = 0; index < settings.connections; index += 1) {
      // Fixed client ids and clean: false keep each connection's persistent session across restarts.
      const role = settings.connections === 1 ? 'bridge' : `bridge-${index}`;
      const mqtt = await connectMqtt(options.mqtt, { role, clean: settings.cleanSession }, logger);
      bridges.push(await startBridge(mqtt, handler, logger.child({ mqttConnection: index }), topicFilters, metrics));
    }
  } catch (error) {
    await Promise.all(bridges.map((bridge) => bridge.stop()));
    await metricsServer?.close();
    await connection.close();
    await mongo.client.close();
    throw error;
  }
  const counts = (): BridgeCounts => sumCounts(bridges.map((bridge) => bridge.counts()));
  const countsTimer = setInterval(
    () => logger.info({ counts: counts(), registry: writeBuffer.counts(), coalesced: coalescer.coalesced, rateLimited: routineLimiter.limited + decisiveLimiter.limited }, 'bridge counts'),
    COUNTS_LOG_INTERVAL_MS,
  );
  countsTimer.unref();
  logger.info({ connections: settings.connections, sharedSubscription: settings.sharedSubscription, productNames: options.productNames ?? 'all', metricsUrl: metricsServer?.url }, 'bridge started');

  return {
    counts,
    metricsUrl: metricsServer?.url,
    async stop() {
      clearInterval(countsTimer);
      await Promise.all(bridges.map((bridge) => bridge.stop()));
      // Reports acknowledged to the broker are signalled and written before the process lets go of them.
      await coalescer.flush();
      await writeBuffer.stop();
      await connection.close();
      await mongo.client.close();
      // Served until the end, so a last scrape includes the counts of the stop.
      await metricsServer?.close();
    },
  };
}

function sumCounts(all: BridgeCounts[]): BridgeCounts {
  const total = { ...all[0]! };
  for (const counts of all.slice(1)) {
    for (const key of Object.keys(total) as (keyof BridgeCounts)[]) total[key] += counts[key];
  }
  return total;
}

import { Client, Connection } from '@temporalio/client';
import { ConfigError } from '../config/env';
import type { BridgeSettings, MongoSettings, MqttSettings, TemporalSettings } from '../config/settings';
import { REPORT_TOPIC_FILTERS } from '../protocol';
import { connectMqtt } from '../messaging/mqtt-connection';
import type { Logger } from '../observability/logger';
import { DeviceRegistry } from '../storage/device-registry';
import { connectMongo } from '../storage/mongo';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { startBridge, type Bridge, type BridgeCounts } from './bridge';
import { DeviceSignalLimiter } from './device-signal-limiter';
import { ProgressCoalescer } from './progress-coalescer';
import { RegistryWriteBuffer } from './registry-write-buffer';
import { ReportHandler } from './report-handler';
import { UpgradeSignaller } from './upgrade-signaller';

const COUNTS_LOG_INTERVAL_MS = 60_000;

export interface BridgeService {
  counts(): BridgeCounts;
  /** Stops taking reports, finishes the one in hand, then closes the connections. */
  stop(): Promise<void>;
}

/** Connects to MongoDB, Temporal and the broker and forwards device reports until stopped. */
export async function startBridgeService(options: {
  temporal: TemporalSettings;
  mongo: MongoSettings;
  mqtt: MqttSettings;
  bridge: BridgeSettings;
  logger: Logger;
}): Promise<BridgeService> {
  const { logger, bridge: settings } = options;
  if (settings.connections > 1 && !settings.sharedSubscription) {
    throw new ConfigError('invalid configuration: BRIDGE_CONNECTIONS above 1 needs BRIDGE_SHARED_SUBSCRIPTION=true, or every connection would handle every report');
  }
  const mongo = await connectMongo(options.mongo, logger);
  const registry = new DeviceRegistry(mongo.db);
  await registry.ensureIndexes();
  const connection = await Connection.connect(temporalConnectionOptions(options.temporal));
  const client = new Client({ connection, namespace: options.temporal.namespace });

  const writeBuffer = new RegistryWriteBuffer(registry, logger);
  const signaller = new UpgradeSignaller(client, logger);
  const limiter = new DeviceSignalLimiter();
  const coalescer = new ProgressCoalescer(
    async (ref, signal) => (limiter.allow(ref) ? signaller.signalProgress(ref, signal) : 'rate_limited'),
    settings.progressSignalIntervalMs,
    logger,
  );
  const handler = new ReportHandler({
    registry: writeBuffer,
    signaller: {
      signalProgress: (ref, signal) => coalescer.submit(ref, signal),
      signalStatus: async (ref, signal) => (limiter.allow(ref) ? signaller.signalStatus(ref, signal) : 'rate_limited'),
    },
    logger,
  });

  // Several connections on a shared subscription handle reports in parallel, each one at a time; the
  // broker hands each report to one of them. Bridges in other processes may join the same group.
  const topicFilters = settings.sharedSubscription
    ? REPORT_TOPIC_FILTERS.map((filter) => `$share/${settings.shareGroup}/${filter}`)
    : REPORT_TOPIC_FILTERS;
  const bridges: Bridge[] = [];
  try {
    for (let index = 0; index < settings.connections; index += 1) {
      // Fixed client ids and clean: false keep each connection's persistent session across restarts.
      const role = settings.connections === 1 ? 'bridge' : `bridge-${index}`;
      const mqtt = await connectMqtt(options.mqtt, { role, clean: false }, logger);
      bridges.push(await startBridge(mqtt, handler, logger.child({ mqttConnection: index }), topicFilters));
    }
  } catch (error) {
    await Promise.all(bridges.map((bridge) => bridge.stop()));
    await connection.close();
    await mongo.client.close();
    throw error;
  }
  const counts = (): BridgeCounts => sumCounts(bridges.map((bridge) => bridge.counts()));
  const countsTimer = setInterval(
    () => logger.info({ counts: counts(), registry: writeBuffer.counts(), coalesced: coalescer.coalesced, rateLimited: limiter.limited }, 'bridge counts'),
    COUNTS_LOG_INTERVAL_MS,
  );
  countsTimer.unref();
  logger.info({ connections: settings.connections, sharedSubscription: settings.sharedSubscription }, 'bridge started');

  return {
    counts,
    async stop() {
      clearInterval(countsTimer);
      await Promise.all(bridges.map((bridge) => bridge.stop()));
      // Reports acknowledged to the broker are signalled and written before the process lets go of them.
      await coalescer.flush();
      await writeBuffer.stop();
      await connection.close();
      await mongo.client.close();
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

import { Client, Connection } from '@temporalio/client';
import type { MongoSettings, MqttSettings, TemporalSettings } from '../config/settings';
import { connectMqtt } from '../messaging/mqtt-connection';
import type { Logger } from '../observability/logger';
import { DeviceRegistry } from '../storage/device-registry';
import { connectMongo } from '../storage/mongo';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { startBridge, type BridgeCounts } from './bridge';
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
  logger: Logger;
}): Promise<BridgeService> {
  const { logger } = options;
  const mongo = await connectMongo(options.mongo, logger);
  const registry = new DeviceRegistry(mongo.db);
  await registry.ensureIndexes();
  const connection = await Connection.connect(temporalConnectionOptions(options.temporal));
  const client = new Client({ connection, namespace: options.temporal.namespace });
  // A fixed client id and clean: false keep one persistent session across restarts of the bridge.
  const mqtt = await connectMqtt(options.mqtt, { role: 'bridge', clean: false }, logger);

  const handler = new ReportHandler({ registry, signaller: new UpgradeSignaller(client), logger });
  const bridge = await startBridge(mqtt, handler, logger);
  const countsTimer = setInterval(() => logger.info({ counts: bridge.counts() }, 'bridge counts'), COUNTS_LOG_INTERVAL_MS);
  countsTimer.unref();
  logger.info('bridge started');

  return {
    counts: () => bridge.counts(),
    async stop() {
      clearInterval(countsTimer);
      await bridge.stop();
      await connection.close();
      await mongo.client.close();
    },
  };
}

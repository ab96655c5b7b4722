import { Client, Connection } from '@temporalio/client';
import { loadMongoSettings, loadMqttSettings, loadTemporalSettings } from '../config/settings';
import { connectMqtt } from '../messaging/mqtt-connection';
import { createLogger } from '../observability/logger';
import { connectMongo } from '../storage/mongo';
import { DeviceRegistry } from '../storage/device-registry';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { startBridge } from './bridge';
import { ReportHandler } from './report-handler';
import { UpgradeSignaller } from './upgrade-signaller';

const COUNTS_LOG_INTERVAL_MS = 60_000;

/** Runs the bridge process until SIGINT or SIGTERM. */
export async function runBridge(): Promise<void> {
  const logger = createLogger('bridge');
  const temporal = loadTemporalSettings();
  const mongo = await connectMongo(loadMongoSettings(), logger);
  const registry = new DeviceRegistry(mongo.db);
  await registry.ensureIndexes();
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  const client = new Client({ connection, namespace: temporal.namespace });
  // A fixed client id and clean: false keep one persistent session across restarts of the bridge.
  const mqtt = await connectMqtt(loadMqttSettings(), { role: 'bridge', clean: false }, logger);

  const handler = new ReportHandler({ registry, signaller: new UpgradeSignaller(client), logger });
  const bridge = await startBridge(mqtt, handler, logger);
  const countsTimer = setInterval(() => logger.info({ counts: bridge.counts() }, 'bridge counts'), COUNTS_LOG_INTERVAL_MS);
  logger.info('bridge started');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping bridge');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(countsTimer);
  await bridge.stop();
  await connection.close();
  await mongo.client.close();
}

if (require.main === module) {
  runBridge().catch((error: unknown) => {
    createLogger('bridge').fatal({ err: error }, 'bridge failed');
    process.exit(1);
  });
}

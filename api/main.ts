import { Client, Connection } from '@temporalio/client';
import { loadHttpSettings, loadMongoSettings, loadTemporalSettings, loadUpgradeDefaults } from '../config/settings';
import { createLogger } from '../observability/logger';
import { connectMongo } from '../storage/mongo';
import { DeviceRegistry } from '../storage/device-registry';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { buildApiServer } from './server';

/** Runs the HTTP API until SIGINT or SIGTERM, then stops taking connections and lets requests finish. */
export async function runApi(): Promise<void> {
  const logger = createLogger('api');
  const http = loadHttpSettings();
  const temporal = loadTemporalSettings();
  const defaults = loadUpgradeDefaults();
  const mongo = await connectMongo(loadMongoSettings(), logger);
  const registry = new DeviceRegistry(mongo.db);
  await registry.ensureIndexes();
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  const client = new Client({ connection, namespace: temporal.namespace });

  const app = buildApiServer({ temporal: client, taskQueue: temporal.taskQueue, registry, defaults, logger });
  await app.listen({ host: http.host, port: http.port });
  logger.info({ host: http.host, port: http.port }, 'API started');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  logger.info('stopping API');
  await app.close();
  await connection.close();
  await mongo.client.close();
  logger.info('API stopped');
}

if (require.main === module) {
  runApi().catch((error: unknown) => {
    createLogger('api').fatal({ err: error }, 'API failed');
    process.exit(1);
  });
}

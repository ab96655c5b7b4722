import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadMongoSettings, loadMqttSettings, loadTemporalSettings } from '../config/settings';
import { connectMqtt, publishQos1 } from '../messaging/mqtt-connection';
import { createLogger } from '../observability/logger';
import { connectMongo } from '../storage/mongo';
import { DeviceRegistry } from '../storage/device-registry';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { createUpgradeWorker } from './create-worker';
import { PinoSdkLogger } from './sdk-logger';

/**
 * Runs the worker process: connects to Temporal, MongoDB and the broker, then polls the task queue
 * until SIGINT or SIGTERM, when the SDK stops polling and lets running tasks finish.
 */
export async function runWorker(): Promise<void> {
  const logger = createLogger('worker');
  const temporal = loadTemporalSettings();
  const mongoSettings = loadMongoSettings();
  const mqttSettings = loadMqttSettings();
  Runtime.install({ logger: new PinoSdkLogger(logger), shutdownSignals: ['SIGINT', 'SIGTERM'] });

  const mongo = await connectMongo(mongoSettings, logger);
  const mqtt = await connectMqtt(mqttSettings, { role: 'worker', clean: true }, logger);
  const connection = await NativeConnection.connect(temporalConnectionOptions(temporal));
  try {
    const worker = await createUpgradeWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      dependencies: {
        publisher: { publish: (topic, payload) => publishQos1(mqtt, topic, payload) },
        devices: new DeviceRegistry(mongo.db),
      },
    });
    logger.info({ address: temporal.address, namespace: temporal.namespace, taskQueue: temporal.taskQueue }, 'worker started');
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await mqtt.endAsync();
    await mongo.client.close();
  }
}

if (require.main === module) {
  runWorker().catch((error: unknown) => {
    createLogger('worker').fatal({ err: error }, 'worker failed');
    process.exit(1);
  });
}

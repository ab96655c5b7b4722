import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { MongoSettings, MqttSettings, TemporalSettings } from '../config/settings';
import { connectMqtt, publishQos1 } from '../messaging/mqtt-connection';
import type { Logger } from '../observability/logger';
import { MongoCampaignStorage } from '../storage/campaign-storage';
import { DeviceRegistry } from '../storage/device-registry';
import { connectMongo } from '../storage/mongo';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { createUpgradeWorker } from './create-worker';

export interface WorkerService {
  /** Resolves when the worker has stopped, after `stop()` or on a fatal error (then it rejects). */
  readonly done: Promise<void>;
  /** Stops polling, lets running tasks finish, then closes the connections. */
  stop(): Promise<void>;
}

/**
 * Connects to Temporal, MongoDB and the broker and runs the worker until stopped. The caller installs
 * the SDK Runtime (logger, shutdown signals) before, since there is one per process.
 */
export async function startWorkerService(options: {
  temporal: TemporalSettings;
  mongo: MongoSettings;
  mqtt: MqttSettings;
  logger: Logger;
  tuning?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'shutdownGraceTime'>>;
}): Promise<WorkerService> {
  const { temporal, logger } = options;
  const mongo = await connectMongo(options.mongo, logger);
  const mqtt = await connectMqtt(options.mqtt, { role: 'worker', clean: true }, logger);
  const campaignStorage = new MongoCampaignStorage(mongo.db);
  await campaignStorage.ensureIndexes();
  const connection = await NativeConnection.connect(temporalConnectionOptions(temporal));
  // Campaign activities start and cancel device upgrades through a client of their own.
  const clientConnection = await Connection.connect(temporalConnectionOptions(temporal));
  const client = new Client({ connection: clientConnection, namespace: temporal.namespace });
  const closeClients = async () => {
    await connection.close();
    await clientConnection.close();
    await mqtt.endAsync();
    await mongo.client.close();
  };

  let worker;
  try {
    worker = await createUpgradeWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      dependencies: {
        publisher: { publish: (topic, payload) => publishQos1(mqtt, topic, payload) },
        devices: new DeviceRegistry(mongo.db),
        campaigns: { storage: campaignStorage, temporal: client, taskQueue: temporal.taskQueue },
      },
      tuning: options.tuning,
    });
  } catch (error) {
    await closeClients();
    throw error;
  }

  logger.info({ address: temporal.address, namespace: temporal.namespace, taskQueue: temporal.taskQueue }, 'worker started');
  const done = worker.run().finally(async () => {
    await closeClients();
    logger.info('worker stopped');
  });
  return {
    done,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

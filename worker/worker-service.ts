import { Client } from '@temporalio/client';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { MetricsServerSettings, MongoSettings, MqttSettings, TemporalSettings, WorkerSettings } from '../config/settings';
import { connectMqtt, publishQos1 } from '../messaging/mqtt-connection';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server';
import { ProcessMetrics } from '../metrics/process-metrics';
import { temporalCoreMetricsSource } from '../metrics/temporal-core-metrics';
import { workflowMetricsInterceptorsPath, WorkerMetrics } from '../metrics/worker-metrics';
import type { Logger } from '../observability/logger';
import { MongoCampaignStorage } from '../storage/campaign-storage';
import { DeviceRegistry } from '../storage/device-registry';
import { connectMongo } from '../storage/mongo';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { createUpgradeWorker } from './create-worker';

export interface WorkerService {
  /** Resolves when the worker has stopped, after `stop()` or on a fatal error (then it rejects). */
  readonly done: Promise<void>;
  /** URL of the worker's own metrics endpoint; undefined when it serves none. */
  readonly metricsUrl: string | undefined;
  /** Stops polling, lets running tasks finish, then closes the connections. */
  stop(): Promise<void>;
}

/**
 * Connects to Temporal, MongoDB and the broker and runs the worker until stopped. The caller installs
 * the SDK Runtime (logger, shutdown signals, the core's metrics exporter) before, since there is one per
 * process.
 *
 * The worker registers its metrics in `metrics`, or in a registry of its own when left out, and serves
 * them at `metricsServer` when given. `temporalCoreMetricsUrl` is the core exporter the Runtime was
 * installed with. Its text is appended wherever `metrics` is served, so also by the API in a process
 * that runs all three services.
 */
export async function startWorkerService(options: {
  temporal: TemporalSettings;
  mongo: MongoSettings;
  mqtt: MqttSettings;
  logger: Logger;
  /** Workflow task slots, pollers and threads; the defaults when left out. */
  worker?: WorkerSettings;
  tuning?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'shutdownGraceTime'>>;
  metrics?: ProcessMetrics;
  metricsServer?: MetricsServerSettings;
  temporalCoreMetricsUrl?: string;
}): Promise<WorkerService> {
  const { temporal, logger } = options;
  const processMetrics = options.metrics ?? new ProcessMetrics(logger);
  const metrics = new WorkerMetrics(processMetrics.registry);
  const mongo = await connectMongo(options.mongo, logger);
  const mqtt = await connectMqtt(options.mqtt, { role: 'worker', clean: true }, logger);
  const campaignStorage = new MongoCampaignStorage(mongo.db);
  await campaignStorage.ensureIndexes();
  const connection = await NativeConnection.connect(temporalConnectionOptions(temporal));
  // Campaign activities start and cancel device upgrades through a client on the worker's own connection.
  // The server can then hand each new upgrade's first workflow task straight to this worker (eager start),
  // so it does not wait on the task queue behind other new workflows.
  const client = new Client({ connection, namespace: temporal.namespace });
  const removeCoreSource = options.temporalCoreMetricsUrl === undefined ? undefined : processMetrics.addSource(temporalCoreMetricsSource(options.temporalCoreMetricsUrl));
  let metricsServer: MetricsServer | undefined;
  const closeClients = async () => {
    await connection.close();
    await mqtt.endAsync();
    await mongo.client.close();
    await metricsServer?.close();
    removeCoreSource?.();
  };

  let worker;
  try {
    if (options.metricsServer) {
      metricsServer = await startMetricsServer(processMetrics, { ...options.metricsServer, portSetting: 'WORKER_METRICS_PORT', logger });
    }
    worker = await createUpgradeWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      dependencies: {
        publisher: metrics.instrumentPublisher({ publish: (topic, payload) => publishQos1(mqtt, topic, payload) }),
        devices: new DeviceRegistry(mongo.db),
        campaigns: { storage: campaignStorage, temporal: client, taskQueue: temporal.taskQueue, eagerStart: true },
      },
      settings: options.worker,
      tuning: options.tuning,
      observability: {
        sinks: metrics.sinks(),
        interceptors: { workflowModules: [workflowMetricsInterceptorsPath()] },
      },
    });
  } catch (error) {
    await closeClients();
    throw error;
  }

  logger.info(
    { address: temporal.address, namespace: temporal.namespace, taskQueue: temporal.taskQueue, metricsUrl: metricsServer?.url, ...options.worker },
    'worker started',
  );
  const done = worker.run().finally(async () => {
    await closeClients();
    logger.info('worker stopped');
  });
  return {
    done,
    metricsUrl: metricsServer?.url,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

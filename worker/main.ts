import { Runtime } from '@temporalio/worker';
import { loadMongoSettings, loadMqttSettings, loadTemporalSettings, loadWorkerMetricsSettings, loadWorkerSettings } from '../config/settings';
import { runMain } from '../lifecycle/shutdown-signal';
import { findFreeLoopbackPort, temporalCoreMetricsOptions, temporalCoreMetricsUrl } from '../metrics/temporal-core-metrics';
import { createLogger } from '../observability/logger';
import { PinoSdkLogger } from './sdk-logger';
import { startWorkerService } from './worker-service';

const logger = createLogger('worker');

/**
 * Runs the worker process until SIGINT or SIGTERM, on which the SDK stops polling and lets running
 * tasks finish within the shutdown grace time. With WORKER_METRICS_PORT set, the Temporal SDK core
 * exports its metrics on a loopback port, and the worker's /metrics serves them with its own.
 */
async function main(): Promise<void> {
  const temporal = loadTemporalSettings();
  const mongo = loadMongoSettings();
  const mqtt = loadMqttSettings();
  const metricsServer = loadWorkerMetricsSettings();
  const worker = loadWorkerSettings();
  const corePort = metricsServer === undefined ? undefined : await findFreeLoopbackPort();
  Runtime.install({
    logger: new PinoSdkLogger(logger),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    ...(corePort === undefined ? {} : { telemetryOptions: { metrics: temporalCoreMetricsOptions(corePort) } }),
  });
  const service = await startWorkerService({
    temporal,
    mongo,
    mqtt,
    logger,
    worker,
    metricsServer,
    temporalCoreMetricsUrl: corePort === undefined ? undefined : temporalCoreMetricsUrl(corePort),
  });
  await service.done;
}

if (require.main === module) runMain(logger, main);

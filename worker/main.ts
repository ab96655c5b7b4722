import { Runtime } from '@temporalio/worker';
import { loadMongoSettings, loadMqttSettings, loadTemporalSettings } from '../config/settings';
import { runMain } from '../lifecycle/shutdown-signal';
import { createLogger } from '../observability/logger';
import { PinoSdkLogger } from './sdk-logger';
import { startWorkerService } from './worker-service';

const logger = createLogger('worker');

/**
 * Runs the worker process until SIGINT or SIGTERM, on which the SDK stops polling and lets running
 * tasks finish within the shutdown grace time.
 */
async function main(): Promise<void> {
  Runtime.install({ logger: new PinoSdkLogger(logger), shutdownSignals: ['SIGINT', 'SIGTERM'] });
  const service = await startWorkerService({
    temporal: loadTemporalSettings(),
    mongo: loadMongoSettings(),
    mqtt: loadMqttSettings(),
    logger,
  });
  await service.done;
}

if (require.main === module) runMain(logger, main);

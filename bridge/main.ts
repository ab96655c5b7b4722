import { loadBridgeMetricsSettings, loadBridgeSettings, loadMongoSettings, loadMqttSettings, loadTemporalSettings } from '../config/settings';
import { runMain, waitForShutdownSignal } from '../lifecycle/shutdown-signal';
import { createLogger } from '../observability/logger';
import { startBridgeService } from './bridge-service';

const logger = createLogger('bridge');

/** Runs the bridge process until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const service = await startBridgeService({
    temporal: loadTemporalSettings(),
    mongo: loadMongoSettings(),
    mqtt: loadMqttSettings(),
    bridge: loadBridgeSettings(),
    logger,
    metricsServer: loadBridgeMetricsSettings(),
  });
  await waitForShutdownSignal(logger);
  await service.stop();
}

if (require.main === module) runMain(logger, main);

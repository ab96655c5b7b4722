import { loadApiSecuritySettings, loadHttpSettings, loadMongoSettings, loadTemporalSettings, loadUpgradeDefaults } from '../config/settings';
import { runMain, waitForShutdownSignal } from '../lifecycle/shutdown-signal';
import { createLogger } from '../observability/logger';
import { startApiService } from './api-service';

const logger = createLogger('api');

/** Runs the HTTP API until SIGINT or SIGTERM, then lets requests in progress finish. */
async function main(): Promise<void> {
  const service = await startApiService({
    http: loadHttpSettings(),
    temporal: loadTemporalSettings(),
    mongo: loadMongoSettings(),
    defaults: loadUpgradeDefaults(),
    security: loadApiSecuritySettings(),
    logger,
  });
  await waitForShutdownSignal(logger);
  await service.stop();
}

if (require.main === module) runMain(logger, main);

import { loadMqttSettings } from '../config/settings';
import { createLogger } from '../observability/logger';
import { FLEET_USAGE, parseFleetArgs } from './fleet-cli-options';
import { Fleet } from './fleet';
import { formatScenarioMix } from './scenario-mix';

/**
 * Runs a fleet of simulated devices until SIGINT or SIGTERM, then closes every connection.
 * Returns the process exit code.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  let options;
  try {
    options = parseFleetArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${FLEET_USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${FLEET_USAGE}\n`);
    return 0;
  }

  const logger = createLogger('device-sim');
  const mqtt = loadMqttSettings();
  const fleet = new Fleet({
    ...options,
    endpoint: { url: mqtt.url, username: mqtt.username, password: mqtt.password },
    logger,
  });

  logger.info(
    { productName: options.productName, count: options.count, mix: formatScenarioMix(options.mix), sharedConnections: options.sharedConnections, mqttUrl: mqtt.url },
    'starting simulated devices',
  );
  const stopRequested = waitForStopSignal(logger);
  try {
    await fleet.start();
  } catch (error) {
    logger.error({ err: error }, 'simulated devices could not start');
    return 1;
  }
  logger.info({ summary: fleet.summary() }, 'simulated devices connected');

  const summaryTimer =
    options.summaryIntervalMs > 0 ? setInterval(() => logger.info({ summary: fleet.summary() }, 'fleet summary'), options.summaryIntervalMs) : undefined;
  const signal = await stopRequested;

  clearInterval(summaryTimer);
  logger.info({ signal }, 'stopping simulated devices');
  await fleet.close();
  logger.info({ summary: fleet.summary(), unroutedMessages: fleet.unroutedMessages() }, 'simulated devices stopped');
  return 0;
}

/** Resolves with the first SIGINT or SIGTERM; a second signal exits at once in case closing hangs. */
function waitForStopSignal(logger: ReturnType<typeof createLogger>): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn({ signal }, 'second stop signal; exiting without closing connections');
        process.exit(130);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`device simulator failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}

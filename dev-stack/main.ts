import path from 'node:path';
import { parseArgs } from 'node:util';
import { Runtime } from '@temporalio/worker';
import { startApiService } from '../api/api-service';
import { startBridgeService } from '../bridge/bridge-service';
import { ConfigError } from '../config/env';
import { INVALID_CONFIGURATION_EXIT_CODE } from '../lifecycle/invalid-configuration';
import { exitCodeForSignal, watchShutdownSignals } from '../lifecycle/shutdown-signal';
import { openFileLogger, type Logger } from '../observability/logger';
import { ProcessMetrics } from '../metrics/process-metrics';
import { findFreeLoopbackPort, temporalCoreMetricsOptions, temporalCoreMetricsUrl } from '../metrics/temporal-core-metrics';
import { PinoSdkLogger } from '../worker/sdk-logger';
import { startWorkerService } from '../worker/worker-service';
import { runDemo } from './demo';
import { loadEngineSettings, type EngineSettings } from './engine-settings';
import { assertPortFree, LOOPBACK_HOST } from './ports';
import { startEmbeddedBroker, type EmbeddedBrokerHandle } from './servers/embedded-broker';
import { startFerretdbServer } from './servers/ferretdb';
import { startTemporalServer } from './servers/temporal';
import { StackParts, StartInterruptedError } from './stack-parts';
import { loadStackSettings, type StackSettings } from './stack-settings';

const USAGE = `Usage: scripts/start [--no-demo] [--exit-after-demo]

Starts the Temporal dev server (with its UI), FerretDB, an embedded MQTT broker, the worker, the bridge
and the HTTP API on 127.0.0.1, then upgrades a simulated device from firmware 1.0 to 1.1.

  --no-demo          start the stack without the demo upgrade
  --exit-after-demo  stop everything once the demo upgrade ended; the exit status tells how it ended

Ctrl-C stops every part in reverse start order, each within 15 s, and a second Ctrl-C kills the servers
at once. Exit status: 0 after a clean stop, 1 when the demo or a part failed, 2 on an invalid setting,
130 when Ctrl-C interrupted the start-up or the demo.

Servers whose address is configured (TEMPORAL_ADDRESS, MONGO_URL, MQTT_URL) are used instead of started.
Ports: DEV_TEMPORAL_PORT (7233), DEV_TEMPORAL_UI_PORT (8233), DEV_FERRETDB_PORT (27017), DEV_MQTT_PORT (1883),
HTTP_PORT (3000). Data and logs go to OTA_DATA_DIR (.data in the checkout).`;

/** Time each part of the stack gets to stop before the next one is stopped anyway. */
const STOP_TIMEOUT_MS = 15_000;

// SIGHUP comes with a closed terminal. Since the servers run in their own process groups, the terminal
// no longer stops them, so the stack must.
const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function say(line: string): void {
  process.stdout.write(`[stack] ${line}\n`);
}

// After SIGHUP the terminal is gone, and writing to it fails with EIO or EPIPE. Without a handler that
// error would end the process before the orderly shutdown, so the output is dropped instead.
function dropOutputOnClosedTerminal(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EIO' || error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

async function main(): Promise<number> {
  dropOutputOnClosedTerminal(process.stdout);
  dropOutputOnClosedTerminal(process.stderr);
  const { values } = parseArgs({
    options: { 'no-demo': { type: 'boolean' }, 'exit-after-demo': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['no-demo'] && values['exit-after-demo']) {
    process.stderr.write('[stack] --no-demo and --exit-after-demo cannot be combined, because without a demo the stack would stop at once. Use one of them\n');
    return INVALID_CONFIGURATION_EXIT_CODE;
  }

  // Every setting is checked before a logger or a server exists, so an invalid one ends the command
  // with one line that names it.
  let stack: StackSettings;
  let settings: EngineSettings;
  try {
    stack = loadStackSettings();
    settings = loadEngineSettings(stack);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`[stack] ${error.message}\n`);
    return INVALID_CONFIGURATION_EXIT_CODE;
  }
  try {
    await assertPortsFree(stack, settings);
  } catch (error) {
    process.stderr.write(`[stack] failed: ${(error as Error).message}\n`);
    return 1;
  }

  const logFile = path.join(stack.dataDir, 'logs', 'engine.log');
  // The engine's JSON logs go to a file, so the terminal shows the demo as its device and client print it.
  // The SDK's native core prints its own logs on the console unless they are forwarded to the logger.
  const fileLogger = await openFileLogger(logFile, settings.log.level);
  const logger = fileLogger.logger;
  // The SDK core exports its metrics on a loopback port; the API's /metrics serves them with the rest.
  const coreMetricsPort = await findFreeLoopbackPort();
  Runtime.install({
    logger: new PinoSdkLogger(logger.child({ service: 'worker' })),
    telemetryOptions: { logging: { forward: {} }, metrics: temporalCoreMetricsOptions(coreMetricsPort) },
    shutdownSignals: [],
  });
  const metrics: StackMetrics = { metrics: new ProcessMetrics(logger), temporalCoreMetricsUrl: temporalCoreMetricsUrl(coreMetricsPort) };

  const shutdown = watchShutdownSignals({
    logger,
    signals: SHUTDOWN_SIGNALS,
    onRepeatedSignal: (signal) => {
      say(`${signal} again: killing the servers and exiting now`);
      // process.exit runs the 'exit' handler of ManagedProcess, which kills the servers with SIGKILL.
      process.exit(exitCodeForSignal(signal));
    },
  });
  void shutdown.requested.then((signal) => say(`${signal} received; stopping the stack (press Ctrl-C again to kill it at once)`));
  const parts = new StackParts({ logger, interrupt: shutdown.abortSignal, stopTimeoutMs: STOP_TIMEOUT_MS, print: say });

  let exitCode: number;
  try {
    const { mqttUrl, apiUrl, uiUrl } = await startStack(stack, settings, parts, logger, metrics);
    say(`worker, bridge and API started; API: ${apiUrl}; metrics: ${apiUrl}/metrics; logs: ${logFile}`);
    exitCode = 0;
    if (!values['no-demo'] && settings.apiSecurity.auth.mode === 'tokens') {
      say('skipping the demo: the API requires tokens (API_TOKENS or API_TOKENS_FILE), which the demo client does not send');
    } else if (!values['no-demo']) {
      const outcome = await runDemo({ mqttUrl, apiUrl, temporal: settings.temporal, uiUrl, parts, shutdownRequested: shutdown.requested, print: say });
      if (outcome.status === 'interrupted') exitCode = exitCodeForSignal(outcome.signal);
      if (outcome.status === 'failed') exitCode = 1;
    }
    if (!values['exit-after-demo'] && !shutdown.abortSignal.aborted) {
      say('the stack is running; press Ctrl-C to stop it');
      await shutdown.requested;
    }
    if (!shutdown.abortSignal.aborted) say('stopping');
  } catch (error) {
    if (error instanceof StartInterruptedError) {
      const signal = await shutdown.requested;
      say(`start-up interrupted by ${signal} while starting ${error.part}; stopping what has started`);
      exitCode = exitCodeForSignal(signal);
    } else {
      process.stderr.write(`[stack] failed: ${error instanceof Error ? error.message : String(error)}\n`);
      logger.error({ err: error }, 'start command failed');
      exitCode = 1;
    }
  }

  const notStopped = await parts.stopAll();
  if (notStopped.length > 0) {
    say(`stopped, except ${notStopped.join(', ')}; the servers still running are killed on exit`);
    if (exitCode === 0) exitCode = 1;
  } else {
    say('stopped');
  }
  logger.info({ exitCode }, 'start command finished');
  await fileLogger.close();
  return exitCode;
}

interface StartedStack {
  mqttUrl: string;
  apiUrl: string;
  /** Base URL of the Temporal Web UI, when the stack started the Temporal server. */
  uiUrl: string | undefined;
}

/** Starts the servers that are not configured as external, then the worker, the bridge and the API. */
/** One registry for the worker, bridge and API of this process, served by the API at /metrics. */
interface StackMetrics {
  metrics: ProcessMetrics;
  temporalCoreMetricsUrl: string;
}

async function startStack(stack: StackSettings, settings: EngineSettings, parts: StackParts, logger: Logger, metrics: StackMetrics): Promise<StartedStack> {
  // The servers run in their own process groups, so only stopAll() stops them, after the services.
  let uiUrl: string | undefined;
  if (stack.externalTemporal === undefined) {
    say('starting the Temporal dev server');
    const temporal = await parts.start(
      'the Temporal dev server',
      (signal) =>
        startTemporalServer({ dataDir: path.join(stack.dataDir, 'temporal'), port: stack.temporalPort, ui: true, uiPort: stack.temporalUiPort, detached: true, signal, logger }),
      (server) => server.stop(),
    );
    uiUrl = temporal.uiUrl;
    say(`Temporal: ${temporal.address}, UI: ${temporal.uiUrl}`);
  }
  if (stack.externalMongo === undefined) {
    say('starting FerretDB');
    const ferretdb = await parts.start(
      'FerretDB',
      (signal) => startFerretdbServer({ dataDir: path.join(stack.dataDir, 'ferretdb'), port: stack.ferretdbPort, detached: true, signal, logger }),
      (server) => server.stop(),
    );
    say(`MongoDB wire protocol (FerretDB): ${ferretdb.url}`);
  }
  let broker: EmbeddedBrokerHandle | undefined;
  if (settings.brokerCredentials !== undefined) {
    broker = await parts.start(
      'the embedded MQTT broker',
      () =>
        startEmbeddedBroker({
          port: stack.mqttPort,
          reservedClientIdPrefix: settings.mqtt.clientIdPrefix,
          engineCredentials: settings.brokerCredentials,
          holdDevicesUntilAdmitted: true,
          logger,
        }),
      (server) => server.stop(),
    );
    say(`MQTT (embedded broker): ${broker.url}`);
  }

  const { temporal, mongo, mqtt } = settings;
  await parts.start(
    'the worker',
    () => startWorkerService({ temporal, mongo, mqtt, worker: settings.worker, logger: logger.child({ service: 'worker' }), ...metrics }),
    (worker) => worker.stop(),
  );
  await parts.start(
    'the bridge',
    () => startBridgeService({ temporal, mongo, mqtt, bridge: settings.bridge, logger: logger.child({ service: 'bridge' }), metrics: metrics.metrics }),
    (bridge) => bridge.stop(),
  );
  // The bridge has subscribed, so no report a device publishes from now on is lost.
  broker?.admitDevices();
  const api = await parts.start(
    'the API',
    () =>
      startApiService({
        http: settings.http,
        temporal,
        mongo,
        defaults: settings.upgradeDefaults,
        logger: logger.child({ service: 'api' }),
        metrics: metrics.metrics,
        security: settings.apiSecurity,
      }),
    (service) => service.stop(),
  );
  return { mqttUrl: mqtt.url, apiUrl: api.url, uiUrl };
}

// Checks every port before the first server starts, so a taken port fails at once with the setting
// that moves it, instead of after the servers before it have started.
async function assertPortsFree(stack: StackSettings, settings: EngineSettings): Promise<void> {
  const checks: { port: number; setting: string; host?: string }[] = [];
  if (stack.externalTemporal === undefined) {
    checks.push({ port: stack.temporalPort, setting: 'DEV_TEMPORAL_PORT' }, { port: stack.temporalUiPort, setting: 'DEV_TEMPORAL_UI_PORT' });
  }
  if (stack.externalMongo === undefined) checks.push({ port: stack.ferretdbPort, setting: 'DEV_FERRETDB_PORT' });
  if (stack.externalMqtt === undefined) checks.push({ port: stack.mqttPort, setting: 'DEV_MQTT_PORT' });
  checks.push({ port: settings.http.port, setting: 'HTTP_PORT', host: settings.http.host });
  for (const check of checks) {
    // Port 0 lets the operating system pick a free port.
    if (check.port !== 0) await assertPortFree(check.port, check.setting, check.host ?? LOOPBACK_HOST);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[stack] failed: ${String(error)}\n`);
    process.exit(1);
  },
);

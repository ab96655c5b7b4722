import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Runtime } from '@temporalio/worker';
import pino from 'pino';
import { startApiService } from '../api/api-service';
import { startBridgeService } from '../bridge/bridge-service';
import { loadHttpSettings, loadMongoSettings, loadMqttSettings, loadTemporalSettings, loadUpgradeDefaults } from '../config/settings';
import { startOtaDevice } from '../device-sim/samples/ota-device';
import { performOta } from '../device-sim/samples/perform-ota';
import { waitForShutdownSignal } from '../lifecycle/shutdown-signal';
import { upgradeWorkflowId } from '../protocol';
import { PinoSdkLogger } from '../worker/sdk-logger';
import { startWorkerService } from '../worker/worker-service';
import { startEmbeddedBroker } from './servers/embedded-broker';
import { startFerretdbServer } from './servers/ferretdb';
import { startTemporalServer } from './servers/temporal';
import { loadStackSettings } from './stack-settings';

const USAGE = `Usage: scripts/start [--no-demo] [--exit-after-demo]

Starts the Temporal dev server (with its UI), FerretDB, an embedded MQTT broker, the worker, the bridge
and the HTTP API on 127.0.0.1, then upgrades a simulated device from firmware 1.0 to 1.1.

  --no-demo          start the stack without the demo upgrade
  --exit-after-demo  stop everything once the demo upgrade ended; the exit status tells how it ended

Servers whose address is configured (TEMPORAL_ADDRESS, MONGO_URL, MQTT_URL) are used instead of started.
Ports: DEV_TEMPORAL_PORT (7233), DEV_TEMPORAL_UI_PORT (8233), DEV_FERRETDB_PORT (27017), DEV_MQTT_PORT (1883),
HTTP_PORT (3000). Data and logs go to OTA_DATA_DIR (.data in the checkout).`;

const DEMO_DEVICE = { productName: 'demo', deviceName: 'device-1' };

type Stop = () => Promise<void>;

function say(line: string): void {
  process.stdout.write(`[stack] ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { 'no-demo': { type: 'boolean' }, 'exit-after-demo': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const stack = loadStackSettings();
  const logDir = path.join(stack.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'engine.log');
  // The engine's JSON logs go to a file, so the terminal shows the demo as its device and client print it.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination({ dest: logFile, sync: false, mkdir: true }));
  Runtime.install({ logger: new PinoSdkLogger(logger.child({ service: 'worker' })), shutdownSignals: [] });

  const stops: Stop[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => logger.error({ err: error }, 'failed to stop a part of the stack'));
    }
    logger.flush();
  };
  const shutdown = waitForShutdownSignal(logger);

  try {
    const env: Record<string, string> = {};
    if (stack.externalTemporal === undefined) {
      say('starting the Temporal dev server');
      const temporal = await startTemporalServer({ dataDir: path.join(stack.dataDir, 'temporal'), port: stack.temporalPort, ui: true, uiPort: stack.temporalUiPort, logger });
      stops.push(() => temporal.stop());
      env.TEMPORAL_ADDRESS = temporal.address;
      say(`Temporal: ${temporal.address}, UI: ${temporal.uiUrl}`);
    }
    if (stack.externalMongo === undefined) {
      say('starting FerretDB');
      const ferretdb = await startFerretdbServer({ dataDir: path.join(stack.dataDir, 'ferretdb'), port: stack.ferretdbPort, logger });
      stops.push(() => ferretdb.stop());
      env.MONGO_URL = ferretdb.url;
      say(`MongoDB wire protocol (FerretDB): ${ferretdb.url}`);
    }
    if (stack.externalMqtt === undefined) {
      const broker = await startEmbeddedBroker({ port: stack.mqttPort, logger });
      stops.push(() => broker.stop());
      env.MQTT_URL = broker.url;
      say(`MQTT (embedded broker): ${broker.url}`);
    }
    const settingsEnv = { ...process.env, ...env };
    const temporal = loadTemporalSettings(settingsEnv);
    const mongo = loadMongoSettings(settingsEnv);
    const mqtt = loadMqttSettings(settingsEnv);

    const worker = await startWorkerService({ temporal, mongo, mqtt, logger: logger.child({ service: 'worker' }) });
    stops.push(() => worker.stop());
    const bridge = await startBridgeService({ temporal, mongo, mqtt, logger: logger.child({ service: 'bridge' }) });
    stops.push(() => bridge.stop());
    const api = await startApiService({ http: loadHttpSettings(settingsEnv), temporal, mongo, defaults: loadUpgradeDefaults(settingsEnv), logger: logger.child({ service: 'api' }) });
    stops.push(() => api.stop());
    say(`worker, bridge and API started; API: ${api.url}; logs: ${logFile}`);

    let exitCode = 0;
    if (!values['no-demo']) {
      const uiUrl = env.TEMPORAL_ADDRESS ? `http://127.0.0.1:${stack.temporalUiPort}` : undefined;
      exitCode = await runDemo(mqtt.url, api.url, uiUrl, stops, shutdown);
    }
    if (!values['exit-after-demo']) {
      say('the stack is running; press Ctrl-C to stop it');
      await shutdown;
    }
    say('stopping');
    await stopAll();
    say('stopped');
    return exitCode;
  } catch (error) {
    process.stderr.write(`[stack] failed: ${error instanceof Error ? error.message : String(error)}\n`);
    logger.error({ err: error }, 'start command failed');
    await stopAll();
    return 1;
  }
}

/** Upgrades the demo device as the IotHub demo does, printing the device's and the client's lines. */
async function runDemo(mqttUrl: string, apiUrl: string, uiUrl: string | undefined, stops: Stop[], shutdown: Promise<unknown>): Promise<number> {
  say(`demo: device ${DEMO_DEVICE.productName}/${DEMO_DEVICE.deviceName} on firmware 1.0 connects, and a client requests firmware 1.1`);
  const device = await startOtaDevice({ ...DEMO_DEVICE, mqttUrl, print: (line) => process.stdout.write(`[device] ${line}\n`) });
  stops.push(() => device.close());
  const outcome = await Promise.race([
    performOta({
      ...DEMO_DEVICE,
      apiUrl,
      print: (line) => process.stdout.write(`[client] ${line}\n`),
      printError: (line) => process.stderr.write(`[client] ${line}\n`),
    }),
    shutdown.then(() => ({ status: 'interrupted' as const })),
  ]);
  if (uiUrl) say(`the upgrade in the Temporal UI: ${uiUrl}/namespaces/default/workflows/${encodeURIComponent(upgradeWorkflowId(DEMO_DEVICE))}`);
  if (outcome.status === 'completed') return 0;
  say(`demo upgrade ended as ${outcome.status}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[stack] failed: ${String(error)}\n`);
    process.exit(1);
  },
);

import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { startApiService, type ApiService } from '../../api/api-service';
import { startBridgeService, type BridgeService } from '../../bridge/bridge-service';
import type { MongoSettings, MqttSettings, TemporalSettings, UpgradeDefaults } from '../../config/settings';
import type { Logger } from '../../observability/logger';
import { startWorkerService, type WorkerService } from '../../worker/worker-service';
import { quietRuntime, requiredEnv } from './worker-harness';

export interface RunningEngine {
  apiUrl: string;
  client: Client;
  temporal: TemporalSettings;
  mongo: MongoSettings;
  mqtt: MqttSettings;
  worker: WorkerService;
  bridge: BridgeService;
  api: ApiService;
  logger: Logger;
  stop(): Promise<void>;
}

/** Upgrade defaults short enough for tests; requests override them per case. */
export const TEST_UPGRADE_DEFAULTS: UpgradeDefaults = {
  commandTtlMs: 60_000,
  stallTimeoutMs: 3_000,
  verifyTimeoutMs: 3_000,
  attemptTimeoutMs: 60_000,
  maxAttempts: 1,
  initialBackoffMs: 200,
};

/**
 * Starts the worker, the bridge and the API in this process against the harness's real Temporal,
 * FerretDB and Mosquitto. Each engine gets its own task queue, database and MQTT client ids, so test
 * files running at the same time do not see each other's work. Its bridge still takes every report on
 * the broker, other test files' included, unless `productNames` limits it to those products.
 */
export async function startEngine(
  label: string,
  options: { bridgeConnections?: number; productNames?: readonly string[] } = {},
): Promise<RunningEngine> {
  quietRuntime();
  const id = `${label}-${randomUUID().slice(0, 8)}`;
  const temporal: TemporalSettings = {
    address: requiredEnv('TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: `e2e-${id}`,
    tls: false,
    tlsCertPath: undefined,
    tlsKeyPath: undefined,
    tlsCaPath: undefined,
    tlsServerName: undefined,
    apiKey: undefined,
  };
  const mongo: MongoSettings = { url: requiredEnv('MONGO_URL'), database: `ota_${id.replace(/-/g, '_')}` };
  const mqtt: MqttSettings = { url: requiredEnv('MQTT_URL'), username: undefined, password: undefined, clientIdPrefix: `e2e-${id}` };
  const logger = pino({ level: process.env.OTA_TEST_LOG_LEVEL ?? 'error', base: { test: label } });

  const worker = await startWorkerService({ temporal, mongo, mqtt, logger: logger.child({ service: 'worker' }), tuning: { shutdownGraceTime: '1s' } });
  const bridge = await startBridgeService({
    temporal,
    mongo,
    mqtt,
    bridge: { connections: options.bridgeConnections ?? 4, sharedSubscription: true, shareGroup: `bridge-${id}`, progressSignalIntervalMs: 1_000, cleanSession: false },
    logger: logger.child({ service: 'bridge' }),
    productNames: options.productNames,
  });
  const api = await startApiService({
    http: { host: '127.0.0.1', port: 0 },
    temporal,
    mongo,
    defaults: TEST_UPGRADE_DEFAULTS,
    logger: logger.child({ service: 'api' }),
  });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: temporal.namespace });

  return {
    apiUrl: api.url,
    client,
    temporal,
    mongo,
    mqtt,
    worker,
    bridge,
    api,
    logger,
    async stop() {
      await api.stop();
      await bridge.stop();
      await worker.stop();
      await connection.close();
    },
  };
}

/** Sends a JSON request to the API and returns the status and parsed body. */
export async function callApi(
  engine: Pick<RunningEngine, 'apiUrl'>,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${engine.apiUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ApiToken } from '../api/auth/api-token';
import { DEFAULT_RATE_LIMIT, validateApiSecuritySettings, type ApiSecuritySettings } from '../api/auth/security-settings';
import { readApiTokensFile } from '../api/auth/token-file-setting';
import { parseApiTokensSetting } from '../api/auth/token-list-setting';
import { booleanSchema, ConfigError, parseEnv, portSchema } from './env';

type Env = Record<string, string | undefined>;

/** Loads the address of the Temporal frontend and how to reach it securely. */
export function loadTemporalSettings(env: Env = process.env) {
  const settings = parseEnv(
    {
      TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
      TEMPORAL_NAMESPACE: z.string().default('default'),
      TEMPORAL_TASK_QUEUE: z.string().default('ota-upgrades'),
      TEMPORAL_TLS: booleanSchema.default(false),
      TEMPORAL_TLS_CERT_PATH: z.string().optional(),
      TEMPORAL_TLS_KEY_PATH: z.string().optional(),
      TEMPORAL_TLS_CA_PATH: z.string().optional(),
      TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
      TEMPORAL_API_KEY: z.string().optional(),
    },
    env,
  );
  if ((settings.TEMPORAL_TLS_CERT_PATH === undefined) !== (settings.TEMPORAL_TLS_KEY_PATH === undefined)) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together');
  }
  // Each of these settings only works over TLS, so setting one turns TLS on.
  const tlsSettings = (['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'] as const).filter(
    (name) => settings[name] !== undefined,
  );
  if (env.TEMPORAL_TLS !== undefined && !settings.TEMPORAL_TLS && tlsSettings.length > 0) {
    const names = tlsSettings.join(', ');
    throw new ConfigError(`invalid configuration: TEMPORAL_TLS is false, but ${names} ${tlsSettings.length === 1 ? 'needs' : 'need'} TLS; unset TEMPORAL_TLS or ${names}`);
  }
  return {
    address: settings.TEMPORAL_ADDRESS,
    namespace: settings.TEMPORAL_NAMESPACE,
    taskQueue: settings.TEMPORAL_TASK_QUEUE,
    tls: settings.TEMPORAL_TLS || tlsSettings.length > 0,
    tlsCertPath: settings.TEMPORAL_TLS_CERT_PATH,
    tlsKeyPath: settings.TEMPORAL_TLS_KEY_PATH,
    tlsCaPath: settings.TEMPORAL_TLS_CA_PATH,
    tlsServerName: settings.TEMPORAL_TLS_SERVER_NAME,
    apiKey: settings.TEMPORAL_API_KEY,
  };
}
export type TemporalSettings = ReturnType<typeof loadTemporalSettings>;

/** The MongoDB (or MongoDB-compatible) server of the device registry and campaigns. */
export interface MongoSettings {
  url: string;
  database: string;
  /** Write concern of every write; 'majority' unless MONGO_WRITE_CONCERN says otherwise. */
  writeConcern?: 'majority' | number;
}

/** Loads where the MongoDB server is and how to write to it. */
export function loadMongoSettings(env: Env = process.env): MongoSettings {
  const settings = parseEnv(
    {
      MONGO_URL: z
        .string()
        .regex(/^mongodb(\+srv)?:\/\//, { error: "must start with 'mongodb://' or 'mongodb+srv://'" })
        .default('mongodb://127.0.0.1:27017'),
      MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, { error: 'must be a MongoDB database name' }).default('ota'),
      // 'majority' keeps an acknowledged write through the loss of a replica set's primary.
      // 0 would make writes unacknowledged, which the engine's guarantees rule out.
      MONGO_WRITE_CONCERN: z
        .string()
        .regex(/^(majority|[1-9])$/, { error: "must be 'majority' or a number of members from 1 to 9 (0, unacknowledged writes, is not supported)" })
        .default('majority'),
    },
    env,
  );
  const writeConcern = settings.MONGO_WRITE_CONCERN === 'majority' ? ('majority' as const) : Number(settings.MONGO_WRITE_CONCERN);
  return { url: settings.MONGO_URL, database: settings.MONGO_DB, writeConcern };
}

/** The broker, its credentials, and TLS when the URL is mqtts:// or wss://. */
export interface MqttSettings {
  url: string;
  username: string | undefined;
  password: string | undefined;
  clientIdPrefix: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
}

/** Loads the broker's address, credentials and TLS files, reading the files now. */
export function loadMqttSettings(env: Env = process.env): MqttSettings {
  const settings = parseEnv(
    {
      MQTT_URL: z
        .string()
        .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, { error: "must start with 'mqtt://', 'mqtts://', 'ws://' or 'wss://'" })
        .default('mqtt://127.0.0.1:1883'),
      MQTT_USERNAME: z.string().optional(),
      MQTT_PASSWORD: z.string().optional(),
      MQTT_CLIENT_ID_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('ota-engine'),
      MQTT_CA_PATH: z.string().optional(),
      MQTT_CERT_PATH: z.string().optional(),
      MQTT_KEY_PATH: z.string().optional(),
      MQTT_TLS_SERVER_NAME: z.string().optional(),
      MQTT_REJECT_UNAUTHORIZED: booleanSchema.default(true),
    },
    env,
  );
  if ((settings.MQTT_CERT_PATH === undefined) !== (settings.MQTT_KEY_PATH === undefined)) {
    throw new ConfigError('invalid configuration: MQTT_CERT_PATH and MQTT_KEY_PATH must be set together');
  }
  const secure = /^(mqtts|wss|ssl):/.test(settings.MQTT_URL);
  const tlsFiles = [settings.MQTT_CA_PATH, settings.MQTT_CERT_PATH, settings.MQTT_KEY_PATH].some((path) => path !== undefined);
  if (tlsFiles && !secure) {
    throw new ConfigError(`invalid configuration: MQTT_CA_PATH, MQTT_CERT_PATH and MQTT_KEY_PATH need an mqtts:// or wss:// MQTT_URL`);
  }
  return {
    url: settings.MQTT_URL,
    username: settings.MQTT_USERNAME,
    password: settings.MQTT_PASSWORD,
    clientIdPrefix: settings.MQTT_CLIENT_ID_PREFIX,
    // Files are read now, so a wrong path stops the process at start-up with the setting named.
    tls: secure
      ? {
          ca: readSettingFile('MQTT_CA_PATH', settings.MQTT_CA_PATH),
          cert: readSettingFile('MQTT_CERT_PATH', settings.MQTT_CERT_PATH),
          key: readSettingFile('MQTT_KEY_PATH', settings.MQTT_KEY_PATH),
          servername: settings.MQTT_TLS_SERVER_NAME,
          rejectUnauthorized: settings.MQTT_REJECT_UNAUTHORIZED,
        }
      : undefined,
  };
}

function readSettingFile(name: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${name}: cannot read '${path}' (${(error as Error).message})`);
  }
}

/** Loads the address the HTTP API listens on. */
export function loadHttpSettings(env: Env = process.env) {
  const settings = parseEnv(
    {
      HTTP_HOST: z.string().default('127.0.0.1'),
      HTTP_PORT: portSchema.default(3000),
    },
    env,
  );
  return { host: settings.HTTP_HOST, port: settings.HTTP_PORT };
}
export type HttpSettings = ReturnType<typeof loadHttpSettings>;

const endpointAccessSchema = z.enum(['open', 'token'], { error: "expected 'open' or 'token'" });

/**
 * Loads who may call the HTTP API: the bearer tokens of API_TOKENS and API_TOKENS_FILE with their roles,
 * whether /health, /ready and /metrics need a token, and the rate limit per principal. Throws ConfigError
 * naming the setting when a token is invalid or repeated, and when no token is configured unless
 * API_AUTH=disabled. The messages never contain a token.
 */
export function loadApiSecuritySettings(env: Env = process.env): ApiSecuritySettings {
  const settings = parseEnv(
    {
      API_AUTH: z.enum(['tokens', 'disabled'], { error: "expected 'tokens' or 'disabled'" }).default('tokens'),
      API_TOKENS: z.string().optional(),
      API_TOKENS_FILE: z.string().optional(),
      API_AUTH_HEALTH: endpointAccessSchema.default('open'),
      API_AUTH_METRICS: endpointAccessSchema.default('open'),
      API_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(DEFAULT_RATE_LIMIT.perSecond),
      API_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_RATE_LIMIT.burst),
    },
    env,
  );
  const tokens: ApiToken[] = [];
  if (settings.API_TOKENS !== undefined) tokens.push(...parseApiTokensSetting(settings.API_TOKENS));
  if (settings.API_TOKENS_FILE !== undefined) tokens.push(...readApiTokensFile(settings.API_TOKENS_FILE));
  // Tokens that are configured but silently ignored would leave the API open while looking protected.
  if (settings.API_AUTH === 'disabled' && tokens.length > 0) {
    const configured = settings.API_TOKENS !== undefined ? 'API_TOKENS' : 'API_TOKENS_FILE';
    throw new ConfigError(`invalid configuration: API_AUTH is 'disabled' but ${configured} is set: unset API_AUTH to require the tokens, or unset ${configured}`);
  }

  const security: ApiSecuritySettings = {
    auth: settings.API_AUTH === 'disabled' ? { mode: 'disabled' } : { mode: 'tokens', tokens },
    healthAccess: settings.API_AUTH_HEALTH,
    metricsAccess: settings.API_AUTH_METRICS,
    rateLimit: { perSecond: settings.API_RATE_LIMIT_PER_SECOND, burst: settings.API_RATE_LIMIT_BURST },
  };
  validateApiSecuritySettings(security);
  return security;
}

// Ranges the upgrade workflow accepts. Checked here, a default the workflow would reject stops the API at
// start-up instead of failing every request that relies on it.
const upgradeDurationSchema = z.coerce.number().int().min(100).max(7 * 24 * 3_600_000);

/** Defaults for a device upgrade that a request does not set. */
export function loadUpgradeDefaults(env: Env = process.env) {
  const settings = parseEnv(
    {
      OTA_COMMAND_TTL_MS: upgradeDurationSchema.default(10 * 60_000),
      OTA_STALL_TIMEOUT_MS: upgradeDurationSchema.default(5 * 60_000),
      OTA_VERIFY_TIMEOUT_MS: upgradeDurationSchema.default(10 * 60_000),
      OTA_ATTEMPT_TIMEOUT_MS: upgradeDurationSchema.default(60 * 60_000),
      OTA_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
      OTA_RETRY_INITIAL_BACKOFF_MS: z.coerce.number().int().min(0).max(24 * 3_600_000).default(30_000),
    },
    env,
  );
  return {
    commandTtlMs: settings.OTA_COMMAND_TTL_MS,
    stallTimeoutMs: settings.OTA_STALL_TIMEOUT_MS,
    verifyTimeoutMs: settings.OTA_VERIFY_TIMEOUT_MS,
    attemptTimeoutMs: settings.OTA_ATTEMPT_TIMEOUT_MS,
    maxAttempts: settings.OTA_MAX_ATTEMPTS,
    initialBackoffMs: settings.OTA_RETRY_INITIAL_BACKOFF_MS,
  };
}
export type UpgradeDefaults = ReturnType<typeof loadUpgradeDefaults>;

/** Logging settings shared by every process. */
export function loadLogSettings(env: Env = process.env) {
  const settings = parseEnv(
    {
      LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    },
    env,
  );
  return { level: settings.LOG_LEVEL };
}

/** Loads how the bridge consumes reports: MQTT connections, their shared subscription, signal pacing. */
export function loadBridgeSettings(env: Env = process.env) {
  const settings = parseEnv(
    {
      BRIDGE_CONNECTIONS: z.coerce.number().int().min(1).max(64).default(1),
      BRIDGE_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1 to 64 letters, digits, _ or -' }).default('ota-bridge'),
      BRIDGE_SHARED_SUBSCRIPTION: booleanSchema.optional(),
      BRIDGE_PROGRESS_SIGNAL_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
      BRIDGE_SESSION: z.enum(['persistent', 'clean'], { error: "expected 'persistent' or 'clean'" }).default('persistent'),
    },
    env,
  );
  return {
    connections: settings.BRIDGE_CONNECTIONS,
    shareGroup: settings.BRIDGE_SHARE_GROUP,
    // Several connections must share one subscription, or each would receive every report.
    sharedSubscription: settings.BRIDGE_SHARED_SUBSCRIPTION ?? settings.BRIDGE_CONNECTIONS > 1,
    progressSignalIntervalMs: settings.BRIDGE_PROGRESS_SIGNAL_INTERVAL_MS,
    // Persistent sessions keep reports for a bridge that restarts under the same client ids. Mosquitto
    // also keeps queueing a stopped member's share of a shared subscription, though, so with several
    // bridges that come and go, clean sessions let the survivors take over a stopped bridge's share.
    cleanSession: settings.BRIDGE_SESSION === 'clean',
  };
}
export type BridgeSettings = ReturnType<typeof loadBridgeSettings>;

/**
 * Loads how much work the worker takes on at once. The defaults come from benchmarks on a 2-core machine
 * (docs/performance.md). With the SDK's 40 workflow task slots, a campaign of 200 devices in flight kept
 * every slot busy. Eager starts then fell back to the task queue, where new upgrades waited 10 s or more.
 */
export function loadWorkerSettings(env: Env = process.env) {
  const settings = parseEnv(
    {
      WORKER_MAX_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(5_000).default(DEFAULT_WORKER_SETTINGS.maxWorkflowTasks),
      WORKER_WORKFLOW_POLLERS: z.coerce.number().int().min(2).max(500).default(DEFAULT_WORKER_SETTINGS.workflowPollers),
      WORKER_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(64).default(DEFAULT_WORKER_SETTINGS.workflowThreads),
    },
    env,
  );
  return {
    maxWorkflowTasks: settings.WORKER_MAX_WORKFLOW_TASKS,
    workflowPollers: settings.WORKER_WORKFLOW_POLLERS,
    workflowThreads: settings.WORKER_WORKFLOW_THREADS,
  };
}
export type WorkerSettings = ReturnType<typeof loadWorkerSettings>;

export const DEFAULT_WORKER_SETTINGS = { maxWorkflowTasks: 200, workflowPollers: 20, workflowThreads: 2 } as const;

/** Address a metrics server listens on. */
export interface MetricsServerSettings {
  host: string;
  /** TCP port; 0 lets the operating system pick a free one. */
  port: number;
}

/** Loads where the worker serves `/metrics`; undefined when WORKER_METRICS_PORT is unset, which serves none. */
export function loadWorkerMetricsSettings(env: Env = process.env): MetricsServerSettings | undefined {
  return loadMetricsServerSettings('WORKER_METRICS_PORT', env);
}

/** Loads where the bridge serves `/metrics`; undefined when BRIDGE_METRICS_PORT is unset, which serves none. */
export function loadBridgeMetricsSettings(env: Env = process.env): MetricsServerSettings | undefined {
  return loadMetricsServerSettings('BRIDGE_METRICS_PORT', env);
}

// The servers are off by default because several workers or bridges may run on one host, where a fixed
// default port would make every process after the first fail to start.
function loadMetricsServerSettings(portVariable: 'WORKER_METRICS_PORT' | 'BRIDGE_METRICS_PORT', env: Env): MetricsServerSettings | undefined {
  const settings = parseEnv({ METRICS_HOST: z.string().default('127.0.0.1'), [portVariable]: portSchema.optional() }, env) as {
    METRICS_HOST: string;
  } & Partial<Record<typeof portVariable, number>>;
  const port = settings[portVariable];
  return port === undefined ? undefined : { host: settings.METRICS_HOST, port };
}

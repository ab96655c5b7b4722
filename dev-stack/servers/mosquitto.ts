import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { Logger } from '../../observability/logger';
import { ManagedProcess } from '../managed-process';
import { canConnect, findFreePort, LOOPBACK_HOST } from '../ports';
import { resolveMosquittoBinary } from '../tools';

export interface MosquittoServerOptions {
  /** Folder for the generated mosquitto.conf, the persistence file and the log; created if missing. */
  dataDir: string;
  /** MQTT port; a free one when unset. */
  port?: number;
  /** Keep retained messages, subscriptions and queued QoS 1/2 messages across restarts; off by default. */
  persistence?: boolean;
  /**
   * Seconds between saves of the persistence file when `persistence` is on. Mosquitto also saves on a
   * clean stop, but a kill loses what arrived since the last save. Mosquitto's own default is 1800.
   */
  autosaveIntervalSeconds?: number;
  /** Password file made with mosquitto_passwd; clients must then log in unless `allowAnonymous` is set. */
  passwordFile?: string;
  /** ACL file that limits the topics each user may read and write. */
  aclFile?: string;
  /** Accept clients without credentials; defaults to true without a password file and false with one. */
  allowAnonymous?: boolean;
  /** Time for the broker to become ready, in milliseconds. */
  startTimeoutMs?: number;
  logger?: Logger;
}

export interface MosquittoServerHandle {
  /** Broker URL for mqtt.js, such as mqtt://127.0.0.1:1883. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly configPath: string;
  readonly logPath: string;
  /** Milliseconds from spawn to readiness in the latest start or restart. */
  readonly startDurationMs: number | undefined;
  /** Stops the broker with SIGTERM (which saves persistence), then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** Kills the broker with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the broker again on the same port, config and data, after stopping it if it still runs. */
  restart(): Promise<void>;
}

/** Starts Mosquitto 2 with a generated config on the loopback address and resolves once it returns a CONNACK. */
export async function startMosquittoServer(options: MosquittoServerOptions): Promise<MosquittoServerHandle> {
  const binary = resolveMosquittoBinary();
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const port = options.port ?? (await findFreePort());
  const url = `mqtt://${LOOPBACK_HOST}:${port}`;
  const configPath = path.join(dataDir, 'mosquitto.conf');
  writeFileSync(configPath, renderConfig(dataDir, port, options));

  const server = await ManagedProcess.start({
    name: 'mosquitto',
    command: binary,
    args: ['-c', configPath],
    dataDir,
    probeReady: () => probeBroker(port, url),
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
    logger: options.logger,
  });

  return {
    url,
    port,
    dataDir,
    configPath,
    logPath: server.logPath,
    get startDurationMs() {
      return server.startDurationMs;
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
  };
}

/** QoS 1 messages Mosquitto keeps queued per client before it drops new ones. */
export const MAX_QUEUED_MESSAGES = 1_000_000;

/** Returns the text of mosquitto.conf; options are described in mosquitto.conf(5) of Mosquitto 2.0. */
export function renderConfig(dataDir: string, port: number, options: MosquittoServerOptions): string {
  const allowAnonymous = options.allowAnonymous ?? options.passwordFile === undefined;
  const lines = [
    // With a config file, Mosquitto 2 opens only the listeners it names and rejects anonymous clients
    // unless the file allows them, so both are explicit.
    `listener ${port} ${LOOPBACK_HOST}`,
    `allow_anonymous ${allowAnonymous}`,
    // Started as root, Mosquitto switches to the 'mosquitto' user, which cannot write a data folder made
    // by root. Naming the current user makes it keep the user it was started as.
    `user ${os.userInfo().username}`,
    'log_dest stderr',
    'log_timestamp_format %Y-%m-%dT%H:%M:%S',
    // Mosquitto queues at most 1,000 QoS 1 messages per offline or busy client by default and drops the
    // rest, so a burst of device reports larger than that would lose reports on their way to the bridge.
    `max_queued_messages ${MAX_QUEUED_MESSAGES}`,
  ];
  if (options.persistence === true) {
    lines.push('persistence true', `persistence_location ${checkConfigValue(dataDir)}/`, 'persistence_file mosquitto.db');
    if (options.autosaveIntervalSeconds !== undefined) {
      lines.push(`autosave_interval ${requirePositiveInteger('autosaveIntervalSeconds', options.autosaveIntervalSeconds)}`);
    }
  } else {
    lines.push('persistence false');
  }
  if (options.passwordFile !== undefined) lines.push(`password_file ${checkConfigValue(path.resolve(options.passwordFile))}`);
  if (options.aclFile !== undefined) lines.push(`acl_file ${checkConfigValue(path.resolve(options.aclFile))}`);
  return `${lines.join('\n')}\n`;
}

// A line break in a value would start a new config directive.
function checkConfigValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`invalid path for mosquitto.conf (contains a line break): ${JSON.stringify(value)}`);
  return value;
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`invalid ${name}: expected a positive integer of seconds (got ${value})`);
  return value;
}

// The broker is ready once it returns a CONNACK to a CONNECT. A rejection for bad credentials (MQTT 3.1.1
// return codes 4 and 5) counts too, because it proves the listener serves MQTT when anonymous access is off.
async function probeBroker(port: number, url: string): Promise<void> {
  if (!(await canConnect(port))) throw new Error(`Mosquitto at ${url} does not accept TCP connections yet`);
  let client: mqtt.MqttClient;
  try {
    client = await mqtt.connectAsync(
      url,
      {
        clientId: `ota-readiness-${randomBytes(4).toString('hex')}`,
        protocolVersion: 4,
        connectTimeout: 2_000,
        reconnectPeriod: 0,
      },
      false,
    );
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 4 || code === 5) return;
    throw error;
  }
  await client.endAsync();
}

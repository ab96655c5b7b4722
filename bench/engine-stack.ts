import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MongoClient, type Db } from 'mongodb';
import type { FerretdbServerHandle } from '../dev-stack/servers/ferretdb';
import type { MosquittoServerHandle } from '../dev-stack/servers/mosquitto';
import type { TemporalServerHandle } from '../dev-stack/servers/temporal';
import { findFreePort, LOOPBACK_HOST } from '../dev-stack/ports';
import { startAll, startBenchFerretdb, startBenchMosquitto, startBenchTemporal, type BenchServer } from './bench-servers';
import type { Cleanup } from './cleanup';
import { NodeProcess } from './node-process';
import type { PhaseContext } from './phase-context';
import { waitForBridge, waitForHttpOk, waitForWorkerPoller } from './readiness';

/** Task queue of the engine's workflows in a benchmark run. */
export const ENGINE_TASK_QUEUE = 'bench-upgrades';

/** The engine's servers and processes of one run, each ready to serve. */
export interface EngineStack {
  temporal: BenchServer<TemporalServerHandle>;
  ferretdb: BenchServer<FerretdbServerHandle>;
  mosquitto: BenchServer<MosquittoServerHandle>;
  client: Client;
  db: Db;
  worker: NodeProcess;
  bridge: NodeProcess;
  api: NodeProcess;
  apiUrl: string;
}

/**
 * Starts fresh servers in `folder`, then the worker, the bridge and the API as separate processes from
 * dist/, and resolves once each of them serves. Every part registers its stop with `cleanup`.
 */
export async function startEngineStack(context: PhaseContext, folder: string, cleanup: Cleanup): Promise<EngineStack> {
  const { abort } = context;
  const [temporal, ferretdb, mosquitto] = await startAll([
    () => startBenchTemporal(folder, cleanup, context.logger, abort),
    () => startBenchFerretdb(folder, cleanup, context.logger, abort),
    () => startBenchMosquitto(folder, cleanup, context.logger),
  ] as const);

  const connection = await Connection.connect({ address: temporal.handle.address });
  cleanup.add('Temporal client', () => connection.close());
  const client = new Client({ connection, namespace: 'default' });
  const mongo = await MongoClient.connect(ferretdb.handle.url);
  cleanup.add('MongoDB client', () => mongo.close());
  const db = mongo.db('ota');

  const httpPort = await findFreePort();
  const apiUrl = `http://${LOOPBACK_HOST}:${httpPort}`;
  const env = engineEnv({ temporalAddress: temporal.handle.address, mongoUrl: ferretdb.handle.url, mqttUrl: mosquitto.handle.url, httpPort, bridgeConnections: context.bridgeConnections });
  const startService = (name: string, script: string) => {
    const service = new NodeProcess({ name, script, env, logPath: path.join(folder, `${name}.log`) });
    cleanup.add(name, () => service.stop());
    return service;
  };
  const worker = startService('worker', 'worker/main.js');
  const bridge = startService('bridge', 'bridge/main.js');
  const api = startService('api', 'api/main.js');
  await Promise.all([
    waitForWorkerPoller(client, ENGINE_TASK_QUEUE, worker, abort),
    waitForHttpOk(`${apiUrl}/ready`, api, abort),
    waitForBridge(mosquitto.handle.url, db, bridge, abort),
  ]);
  return { temporal, ferretdb, mosquitto, client, db, worker, bridge, api, apiUrl };
}

/**
 * Builds the environment of the engine's processes. Variables of the caller's shell with the prefixes
 * the engine reads (TEMPORAL_, MONGO_, MQTT_, BRIDGE_, OTA_, HTTP_) are left out, so that settings of
 * another stack cannot leak in.
 */
function engineEnv(servers: { temporalAddress: string; mongoUrl: string; mqttUrl: string; httpPort: number; bridgeConnections: number }): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TEMPORAL_|MONGO_|MQTT_|BRIDGE_|OTA_|HTTP_)/.test(name)));
  return {
    ...inherited,
    TEMPORAL_ADDRESS: servers.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: ENGINE_TASK_QUEUE,
    MONGO_URL: servers.mongoUrl,
    MONGO_DB: 'ota',
    MQTT_URL: servers.mqttUrl,
    MQTT_CLIENT_ID_PREFIX: 'bench',
    HTTP_HOST: LOOPBACK_HOST,
    HTTP_PORT: String(servers.httpPort),
    BRIDGE_CONNECTIONS: String(servers.bridgeConnections),
    LOG_LEVEL: 'warn',
    // The benchmark's API serves on loopback to the benchmark alone.
    API_AUTH: 'disabled',
  };
}

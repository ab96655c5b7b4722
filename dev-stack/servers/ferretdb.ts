import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { Logger } from '../../observability/logger';
import { ManagedProcess } from '../managed-process';
import { canConnect, findFreePorts, LOOPBACK_HOST } from '../ports';
import { resolveFerretdbBinary } from '../tools';

export interface FerretdbServerOptions {
  /** Folder for the SQLite databases, FerretDB's state file and the log; created if missing. */
  dataDir: string;
  /** MongoDB wire protocol port; a free one when unset. */
  port?: number;
  /** Port of FerretDB's debug HTTP listener (metrics, pprof); a free one when unset. */
  debugPort?: number;
  /** Time for the server to become ready, in milliseconds. */
  startTimeoutMs?: number;
  /** Runs the server in its own process group, out of reach of a terminal's Ctrl-C; see ManagedProcessOptions. */
  detached?: boolean;
  /** Aborting it during the start stops the server and makes the start reject with a StartAbortedError. */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface FerretdbServerHandle {
  /** Connection string for the mongodb driver, such as mongodb://127.0.0.1:27017/. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logPath: string;
  /** Process id of the running server, or undefined while it is stopped. Tests freeze the server with SIGSTOP. */
  readonly pid: number | undefined;
  /** Milliseconds from spawn to readiness in the latest start or restart. */
  readonly startDurationMs: number | undefined;
  /** Stops the server with SIGTERM, then SIGKILL after a grace period. The data folder stays. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports and data, after stopping it if it still runs. */
  restart(): Promise<void>;
}

/** Starts FerretDB with its SQLite backend on the loopback address and resolves once a ping succeeds. */
export async function startFerretdbServer(options: FerretdbServerOptions): Promise<FerretdbServerHandle> {
  const binary = resolveFerretdbBinary();
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const free = await findFreePorts(2);
  const port = options.port ?? free[0]!;
  const debugPort = options.debugPort ?? free[1]!;
  const url = `mongodb://${LOOPBACK_HOST}:${port}/`;

  const args = [
    '--handler=sqlite',
    // The SQLite handler takes a folder URI and keeps one database file per MongoDB database in it.
    `--sqlite-url=file:${dataDir}/`,
    // Without --state-dir FerretDB writes its state file into the working folder.
    `--state-dir=${dataDir}`,
    `--listen-addr=${LOOPBACK_HOST}:${port}`,
    // The debug listener defaults to 127.0.0.1:8088, which a second instance could not bind.
    `--debug-addr=${LOOPBACK_HOST}:${debugPort}`,
    '--telemetry=disable',
    '--log-level=warn',
  ];

  const server = await ManagedProcess.start({
    name: 'ferretdb',
    command: binary,
    args,
    dataDir,
    // FerretDB reads FERRETDB_* variables as defaults for its flags, so the parent's must not leak in.
    env: withoutFerretdbVariables(process.env),
    probeReady: () => pingMongo(port, url),
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    detached: options.detached,
    signal: options.signal,
    logger: options.logger,
  });

  return {
    url,
    port,
    dataDir,
    logPath: server.logPath,
    get pid() {
      return server.pid;
    },
    get startDurationMs() {
      return server.startDurationMs;
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
  };
}

function withoutFerretdbVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('FERRETDB_')));
}

async function pingMongo(port: number, url: string): Promise<void> {
  if (!(await canConnect(port))) throw new Error(`FerretDB at ${url} does not accept TCP connections yet`);
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

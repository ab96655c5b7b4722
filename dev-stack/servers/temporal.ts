import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
// The SDK exports this encoder from its lib folder only, where a comment states it is exported for registering search attributes.
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { Logger } from '../../observability/logger';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ManagedProcess } from '../managed-process';
import { canConnect, findFreePorts, LOOPBACK_HOST } from '../ports';
import { readLatestRunTail } from '../server-log';
import { resolveTemporalBinary } from '../tools';

/** A custom search attribute as `defineSearchAttributeKey` returns it (the SDK does not export that type). */
export interface SearchAttributeDefinition {
  readonly name: string;
  readonly type: SearchAttributeType;
}

export interface TemporalServerOptions {
  /** Folder for the SQLite store and the log; created if missing. Reusing it keeps workflow history. */
  dataDir: string;
  /** Frontend gRPC port; a free one when unset. */
  port?: number;
  /** Serve the Web UI; off (headless) by default. */
  ui?: boolean;
  /** Web UI port when `ui` is on; a free one when unset. */
  uiPort?: number;
  /** Namespace to create besides the dev server's built-in 'default'. */
  namespace?: string;
  /** Custom search attributes to register on the namespaces; the engine's own by default. */
  searchAttributes?: readonly SearchAttributeDefinition[];
  /** Time for the server to become ready, in milliseconds. */
  startTimeoutMs?: number;
  /** Runs the server in its own process group, out of reach of a terminal's Ctrl-C; see ManagedProcessOptions. */
  detached?: boolean;
  /** Aborting it during the start stops the server and makes the start reject with a StartAbortedError. */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface TemporalServerHandle {
  /** Frontend gRPC address as host:port, the form `Connection.connect({ address })` takes. */
  readonly address: string;
  readonly port: number;
  readonly namespace: string;
  /** Web UI base URL, or undefined when the server runs headless. */
  readonly uiUrl: string | undefined;
  readonly dataDir: string;
  readonly logPath: string;
  /** Milliseconds from spawn to readiness in the latest start or restart. */
  readonly startDurationMs: number | undefined;
  /** Stops the server with SIGTERM, then SIGKILL after a grace period. The data folder stays. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports and data, after stopping it if it still runs. */
  restart(): Promise<void>;
}

// The CLI's spelling of each search attribute type, from `temporal server start-dev --help` (CLI v1.5.1).
const CLI_SEARCH_ATTRIBUTE_TYPES: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Starts a Temporal dev server on the loopback address and resolves once its frontend serves the namespace. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServerHandle> {
  const binary = resolveTemporalBinary();
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const namespace = options.namespace ?? 'default';
  const searchAttributes = options.searchAttributes ?? ALL_SEARCH_ATTRIBUTES;
  const uiEnabled = options.ui ?? false;
  // A free port can be taken by another process between the check and the server's bind. Ports picked
  // here are then picked again, unless the caller fixed them.
  const fixedPorts = options.port !== undefined && (!uiEnabled || options.uiPort !== undefined);
  let started: { server: ManagedProcess; port: number; address: string; uiUrl: string | undefined } | undefined;
  for (let attempt = 1; started === undefined; attempt += 1) {
    const [port, uiPort] = await pickPorts(options.port, uiEnabled ? (options.uiPort ?? null) : undefined);
    const address = `${LOOPBACK_HOST}:${port}`;
    const uiUrl = uiPort === undefined ? undefined : `http://${LOOPBACK_HOST}:${uiPort}`;
    try {
      const server = await ManagedProcess.start({
        name: 'temporal',
        command: binary,
        args: serverArgs({ port, uiPort, dataDir, namespace, searchAttributes }),
        dataDir,
        probeReady: () => probeTemporal(port, address, namespace, uiUrl),
        startTimeoutMs: options.startTimeoutMs ?? 60_000,
        detached: options.detached,
        signal: options.signal,
        logger: options.logger,
      });
      started = { server, port, address, uiUrl };
    } catch (error) {
      if (fixedPorts || attempt >= MAX_PORT_ATTEMPTS || !portWasTaken(path.join(dataDir, 'temporal.log'))) throw error;
      options.logger?.warn({ server: 'temporal', port, uiPort, attempt }, 'a picked port was taken before the server bound it; starting again on other ports');
    }
  }
  const { server, port, address, uiUrl } = started;
  try {
    await registerMissingSearchAttributes(address, namespace, searchAttributes, dataDir);
  } catch (error) {
    await server.stop();
    throw error;
  }

  return {
    address,
    port,
    namespace,
    uiUrl,
    dataDir,
    logPath: server.logPath,
    get startDurationMs() {
      return server.startDurationMs;
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
  };
}

const MAX_PORT_ATTEMPTS = 3;

function serverArgs(options: {
  port: number;
  uiPort: number | undefined;
  dataDir: string;
  namespace: string;
  searchAttributes: readonly SearchAttributeDefinition[];
}): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    LOOPBACK_HOST,
    '--port',
    String(options.port),
    ...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
    '--db-filename',
    path.join(options.dataDir, 'temporal.db'),
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    // The check would send the server version to Temporal's servers, and the stack stays off the network.
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    // SQLite's default rollback journal made every write transaction create and delete a journal file.
    // With WAL the server used half the CPU for the same campaign, and the Temporal floor of the benchmark
    // doubled (docs/performance.md). synchronous=normal keeps WAL safe when the server process is killed.
    // A power cut may lose the last transactions, which is acceptable for a development server.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...searchAttributeArgs(options.searchAttributes),
  ];
}

/** Tells whether the latest start of the server failed because one of its ports was in use. */
function portWasTaken(logPath: string): boolean {
  try {
    return readLatestRunTail(logPath, 200).includes('address already in use');
  } catch {
    return false;
  }
}

function searchAttributeArgs(keys: readonly SearchAttributeDefinition[]): string[] {
  return keys.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_SEARCH_ATTRIBUTE_TYPES[key.type]}`]);
}

// `uiPort` is undefined for headless, null for "pick one", or a fixed port. Free ports come from one
// call so the gRPC and UI ports never collide.
async function pickPorts(port: number | undefined, uiPort: number | null | undefined): Promise<[number, number | undefined]> {
  const needed = (port === undefined ? 1 : 0) + (uiPort === null ? 1 : 0);
  const free = needed > 0 ? await findFreePorts(needed) : [];
  const grpcPort = port ?? free.shift()!;
  const chosenUiPort = uiPort === null ? free.shift()! : uiPort;
  return [grpcPort, chosenUiPort];
}

// The dev server registers --search-attribute values only when it creates its database, so a data folder
// from an earlier start lacks attributes added since. This adds them and rejects a changed type.
async function registerMissingSearchAttributes(
  address: string,
  namespace: string,
  expected: readonly SearchAttributeDefinition[],
  dataDir: string,
): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing: Record<string, number> = {};
    for (const key of expected) {
      const expectedType = encodeSearchAttributeIndexedValueType(key.type)!;
      const registeredType = customAttributes[key.name];
      if (registeredType === undefined) {
        missing[key.name] = expectedType;
      } else if (registeredType !== expectedType) {
        throw new Error(
          `search attribute ${key.name} is registered with another type than ${key.type} in the Temporal store under ${dataDir}; ` +
            'a registered type cannot change, so delete that folder (which deletes its workflow history) or rename the attribute',
        );
      }
    }
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
  } finally {
    await connection.close();
  }
}

// Ready means that the frontend serves gRPC requests for the namespace and the UI, when on, returns HTTP 200.
async function probeTemporal(port: number, address: string, namespace: string, uiUrl: string | undefined): Promise<void> {
  // A plain TCP check first, because a gRPC connect to a closed port takes longer to fail.
  if (!(await canConnect(port))) throw new Error(`${address} does not accept TCP connections yet`);

  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    await connection.workflowService.getSystemInfo({});
    await connection.workflowService.describeNamespace({ namespace });
  } finally {
    await connection.close();
  }

  if (uiUrl !== undefined) {
    const response = await fetch(uiUrl, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    if (response.status !== 200) throw new Error(`Temporal Web UI at ${uiUrl} returned HTTP ${response.status}`);
  }
}

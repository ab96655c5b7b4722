import path from 'node:path';
import type { Logger } from '../observability/logger';
import { startFerretdbServer, type FerretdbServerHandle } from '../dev-stack/servers/ferretdb';
import { startMosquittoServer, type MosquittoServerHandle } from '../dev-stack/servers/mosquitto';
import { startTemporalServer, type TemporalServerHandle } from '../dev-stack/servers/temporal';
import { findPidByCommandLine } from './process-stats';
import type { Cleanup } from './cleanup';

/** A server of one benchmark phase, with the pid whose CPU time and memory are measured. */
export interface BenchServer<T> {
  handle: T;
  pid: number;
}

/**
 * Starts a Temporal dev server (headless, SQLite in `dataDir`) and registers its stop. The data folder
 * is new for each phase, so no history of an earlier phase slows this one down.
 */
export async function startBenchTemporal(dataDir: string, cleanup: Cleanup, logger: Logger, signal: AbortSignal): Promise<BenchServer<TemporalServerHandle>> {
  const folder = path.join(dataDir, 'temporal');
  const handle = await startTemporalServer({ dataDir: folder, detached: true, signal, logger, startTimeoutMs: 120_000 });
  cleanup.add('temporal', () => handle.stop());
  // The data folder is unique to this phase, so the server's command line identifies it.
  return { handle, pid: findPidByCommandLine(path.join(handle.dataDir, 'temporal.db')) };
}

/** Starts FerretDB on SQLite in `dataDir` and registers its stop. */
export async function startBenchFerretdb(dataDir: string, cleanup: Cleanup, logger: Logger, signal: AbortSignal): Promise<BenchServer<FerretdbServerHandle>> {
  const handle = await startFerretdbServer({ dataDir: path.join(dataDir, 'ferretdb'), detached: true, signal, logger });
  cleanup.add('ferretdb', () => handle.stop());
  return { handle, pid: findPidByCommandLine(`--state-dir=${handle.dataDir}`) };
}

/** Starts Mosquitto without persistence and registers its stop. */
export async function startBenchMosquitto(dataDir: string, cleanup: Cleanup, logger: Logger): Promise<BenchServer<MosquittoServerHandle>> {
  const handle = await startMosquittoServer({ dataDir: path.join(dataDir, 'mosquitto'), logger });
  cleanup.add('mosquitto', () => handle.stop());
  return { handle, pid: findPidByCommandLine(handle.configPath) };
}

/**
 * Starts several servers at once and waits for every start to settle, so that a failure leaves no start
 * still running after the cleanup. Each start registers its own stop.
 */
export async function startAll<T extends readonly (() => Promise<unknown>)[]>(starts: T): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const results = await Promise.allSettled(starts.map((start) => start()));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as { [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

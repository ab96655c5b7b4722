import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../observability/logger';
import type { Workload } from './workload';

/** Settings, data folder and interrupt that every phase of a benchmark run shares. */
export interface PhaseContext {
  /** Temporary folder; each phase gets a new subfolder for its servers' data and all logs. */
  dataRoot: string;
  workload: Workload;
  /** Device workflows whose histories are read for latency and event counts. */
  latencySample: number;
  /** MQTT connections of the simulated fleet for `size` devices; 0 gives each device its own. */
  fleetConnections(size: number): number;
  bridgeConnections: number;
  /** Maximum wait of a phase for its campaign or floor to finish, in milliseconds. */
  phaseTimeoutMs(size: number): number;
  /** Aborted on Ctrl-C; every wait of a phase rejects then, and the phase stops what it started. */
  abort: AbortSignal;
  /** Logger for the server launchers, at level warn. */
  logger: Logger;
  /** Prints a progress line to stderr. */
  progress(line: string): void;
}

/** Creates the data folder of one phase, such as n1000-engine. */
export function phaseFolder(context: PhaseContext, size: number, phase: string): string {
  const folder = path.join(context.dataRoot, `n${size}-${phase}`);
  mkdirSync(folder, { recursive: true });
  return folder;
}

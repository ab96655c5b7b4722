import { parseArgs } from 'node:util';
import type { Workload } from './workload';

export const PHASES = ['engine', 'temporal-floor', 'mqtt-floor'] as const;
export type Phase = (typeof PHASES)[number];

export const BENCH_USAGE = `Usage: scripts/bench [options]

Measures the OTA engine on the real stack (Temporal dev server, FerretDB, Mosquitto, all on 127.0.0.1,
started fresh for each phase in a temporary folder) and two floors: what the Temporal server alone
allows for the same workload, and what the broker and the simulated fleet alone allow. Prints one JSON
line per phase and size, then a summary table.

Options:
  --sizes LIST               fleet sizes, comma-separated (default 100,1000,10000)
  --include-100k             add a fleet of 100,000 devices
  --phases LIST              engine, temporal-floor, mqtt-floor, comma-separated (default all three)
  --window N                 devices upgrading at once: the campaign's maxConcurrent and the floors' window (default 200)
  --steps N                  progress steps per device from 0 to 100; N + 2 reports with the status (default 10)
  --step-interval-ms N       time between two progress reports, in ms (default 200)
  --install-delay-ms N       time from progress 100 to the new firmware_ver report, in ms (default 500)
  --latency-sample N         device workflows whose histories are read for latency and event counts (default 200)
  --fleet-connections N|auto MQTT connections of the simulated fleet; 0 gives each device its own; auto uses
                             0 up to 200 devices and 4 to 16 shared connections above (default auto)
  --bridge-connections N     BRIDGE_CONNECTIONS of the engine's bridge (default 16)
  --floor-signals N|auto|reports
                             signals per child of the Temporal floor: auto uses the mean number of report
                             signals the engine's device workflows received at the same size, reports uses
                             every report of a device (default auto)
  --phase-timeout-min N      longest wait for one campaign or floor, in minutes (default 10 + size / 100)
  --results FILE             also write the JSON lines to FILE
  --from-results FILE        read JSON lines from an earlier run instead of running; with --write-docs
                             this rewrites docs/benchmarks.md from them
  --write-docs               write docs/benchmarks.md with the machine, the command, the raw output and the summary
  --note TEXT                a sentence for docs/benchmarks.md about the conditions of the run; with
                             --from-results it replaces the note saved with the run
  --cpu-profile DIR          write a V8 CPU profile of each Node.js process the benchmark starts (worker,
                             bridge, API, simulator, floor processes) into DIR, named after the process
  --keep-data                keep the temporary folder with the servers' data and every process's log
  --no-build                 (scripts/bench only) skip npm run build
  --help                     print this text

Ctrl-C stops every process the benchmark started and exits; a second Ctrl-C kills them at once.`;

export interface BenchOptions {
  help: boolean;
  sizes: number[];
  phases: Phase[];
  workload: Workload;
  latencySample: number;
  /** undefined means auto. */
  fleetConnections: number | undefined;
  bridgeConnections: number;
  floorSignals: number | 'auto' | 'reports';
  /** undefined means the default that grows with the size. */
  phaseTimeoutMin: number | undefined;
  resultsFile: string | undefined;
  fromResults: string | undefined;
  writeDocs: boolean;
  note: string | undefined;
  keepData: boolean;
  /** Folder for V8 CPU profiles of the Node.js processes, or undefined for none. */
  cpuProfileDir: string | undefined;
}

/** Parses the command line; throws an error that names the invalid option and value. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      sizes: { type: 'string' },
      'include-100k': { type: 'boolean', default: false },
      phases: { type: 'string' },
      window: { type: 'string' },
      steps: { type: 'string' },
      'step-interval-ms': { type: 'string' },
      'install-delay-ms': { type: 'string' },
      'latency-sample': { type: 'string' },
      'fleet-connections': { type: 'string' },
      'bridge-connections': { type: 'string' },
      'floor-signals': { type: 'string' },
      'phase-timeout-min': { type: 'string' },
      results: { type: 'string' },
      'from-results': { type: 'string' },
      'write-docs': { type: 'boolean', default: false },
      note: { type: 'string' },
      'keep-data': { type: 'boolean', default: false },
      'cpu-profile': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });

  const sizes = (values.sizes ?? '100,1000,10000').split(',').map((text) => parseWholeNumber('--sizes', text.trim(), 1, 1_000_000));
  if (values['include-100k'] && !sizes.includes(100_000)) sizes.push(100_000);
  sizes.sort((a, b) => a - b);

  const phases = (values.phases ?? PHASES.join(',')).split(',').map((text) => {
    const phase = text.trim();
    if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`invalid --phases entry '${phase}': expected ${PHASES.join(', ')}`);
    return phase as Phase;
  });

  return {
    help: values.help,
    sizes: [...new Set(sizes)],
    phases,
    workload: {
      window: parseWholeNumber('--window', values.window ?? '200', 1, 10_000),
      steps: parseWholeNumber('--steps', values.steps ?? '10', 1, 100),
      stepIntervalMs: parseWholeNumber('--step-interval-ms', values['step-interval-ms'] ?? '200', 0, 3_600_000),
      installDelayMs: parseWholeNumber('--install-delay-ms', values['install-delay-ms'] ?? '500', 0, 3_600_000),
    },
    latencySample: parseWholeNumber('--latency-sample', values['latency-sample'] ?? '200', 1, 100_000),
    fleetConnections: values['fleet-connections'] === undefined || values['fleet-connections'] === 'auto' ? undefined : parseWholeNumber('--fleet-connections', values['fleet-connections'], 0, 1_000),
    bridgeConnections: parseWholeNumber('--bridge-connections', values['bridge-connections'] ?? '16', 1, 64),
    floorSignals: parseFloorSignals(values['floor-signals'] ?? 'auto'),
    phaseTimeoutMin: values['phase-timeout-min'] === undefined ? undefined : parseWholeNumber('--phase-timeout-min', values['phase-timeout-min'], 1, 100_000),
    resultsFile: values.results,
    fromResults: values['from-results'],
    writeDocs: values['write-docs'],
    note: values.note,
    keepData: values['keep-data'],
    cpuProfileDir: values['cpu-profile'],
  };
}

/** MQTT connections of the fleet: each device its own for small fleets, a few shared ones for large fleets. */
export function fleetConnectionsFor(options: BenchOptions, size: number): number {
  if (options.fleetConnections !== undefined) return options.fleetConnections;
  if (size <= 200) return 0;
  return Math.min(16, Math.max(4, Math.ceil(size / 5_000)));
}

/** Returns the maximum wait for one campaign or floor: 10 minutes plus one minute per 100 devices unless set. */
export function phaseTimeoutMsFor(options: BenchOptions, size: number): number {
  const minutes = options.phaseTimeoutMin ?? 10 + Math.ceil(size / 100);
  return minutes * 60_000;
}

function parseFloorSignals(text: string): BenchOptions['floorSignals'] {
  if (text === 'auto' || text === 'reports') return text;
  return parseWholeNumber('--floor-signals', text, 1, 1_000);
}

function parseWholeNumber(option: string, text: string, minimum: number, maximum: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw new Error(`invalid ${option} value '${text}': expected a whole number from ${minimum} to ${maximum}`);
  }
  return value;
}

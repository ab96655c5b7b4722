/**
 * Benchmark of the OTA campaign engine: `scripts/bench [options]` (or `node dist/bench/main.js` after
 * `npm run build`). `scripts/bench --help` lists the options.
 *
 * For each fleet size it runs three phases, each on servers of its own started on 127.0.0.1 in a new
 * temporary folder:
 *
 * 1. engine: the worker, bridge and API run as separate processes and the simulated fleet in another.
 *    One campaign covers all devices, and the phase measures throughput, report-to-signal latency,
 *    history events, CPU and memory.
 * 2. temporal-floor: the same Temporal work without the engine (bench/floor-workflows.ts).
 * 3. mqtt-floor: the same fleet and reports without the engine, counted by a plain mqtt.js client.
 *
 * Output: one JSON line per phase and size on stdout (progress goes to stderr), then a summary table.
 * `--write-docs` writes docs/benchmarks.md; `--from-results FILE --write-docs` rewrites it from the
 * JSON lines of an earlier run. Examples:
 *
 *   scripts/bench --sizes 100,1000 --results /tmp/bench.jsonl
 *   scripts/bench --write-docs --note "quiet machine"          # 100, 1,000 and 10,000 devices
 *   scripts/bench --sizes 1000 --include-100k --phase-timeout-min 1500
 *
 * The figures depend on the machine being otherwise idle: take numbers for docs on a quiet machine.
 * Ctrl-C stops every process of the benchmark; a second Ctrl-C kills them at once.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../observability/logger';
import { renderBenchmarksDoc } from './docs-writer';
import { runEngine } from './engine-run';
import { readLoadAverage, readMachineInfo } from './machine';
import { runMqttFloor } from './mqtt-floor-run';
import { DIST_DIR } from './node-process';
import { profileProcessesInto } from './node-process';
import { BENCH_USAGE, fleetConnectionsFor, parseBenchArgs, phaseTimeoutMsFor, type BenchOptions, type Phase } from './options';
import type { PhaseContext } from './phase-context';
import { collectResults, parseResultLines, type ResultLine } from './result-lines';
import { renderSummaryTable } from './summary-table';
import { runTemporalFloor } from './temporal-floor-run';
import { reportsPerDevice } from './workload';

const REPOSITORY_ROOT = path.resolve(DIST_DIR, '..');
const DOCS_PATH = path.join(REPOSITORY_ROOT, 'docs', 'benchmarks.md');

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
    if (options.cpuProfileDir !== undefined) profileProcessesInto(options.cpuProfileDir);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${BENCH_USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }

  let lines: ResultLine[];
  let interrupted = false;
  if (options.fromResults !== undefined) {
    lines = parseResultLines(readFileSync(options.fromResults, 'utf8'), options.fromResults);
  } else {
    const run = await runBenchmark(options, argv);
    lines = run.lines;
    interrupted = run.interrupted;
  }

  const results = collectResults(lines);
  process.stdout.write(`\n${renderSummaryTable(results)}\n`);
  if (options.writeDocs) {
    writeFileSync(DOCS_PATH, renderBenchmarksDoc(results, lines, options.note ?? results.start?.note));
    process.stderr.write(`[bench] wrote ${DOCS_PATH}\n`);
  }
  if (interrupted) return 130;
  return results.failures.length > 0 ? 1 : 0;
}

async function runBenchmark(options: BenchOptions, argv: string[]): Promise<{ lines: ResultLine[]; interrupted: boolean }> {
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'ota-bench-'));
  const abortController = new AbortController();
  const stopOnSignal = (signal: NodeJS.Signals) => {
    if (abortController.signal.aborted) {
      process.stderr.write(`[bench] ${signal} again: killing every process of the benchmark\n`);
      // The 'exit' handlers of NodeProcess and the server launchers send SIGKILL to what still runs.
      process.exit(130);
    }
    process.stderr.write(`[bench] ${signal}: stopping the running phase and every process it started\n`);
    abortController.abort(new Error(`interrupted by ${signal}`));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stopOnSignal);

  const lines: ResultLine[] = [];
  const emit = (line: ResultLine) => {
    lines.push(line);
    const text = `${JSON.stringify(line)}\n`;
    process.stdout.write(text);
    if (options.resultsFile !== undefined) appendFileSync(options.resultsFile, text);
  };
  const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

  const context: PhaseContext = {
    dataRoot,
    workload: options.workload,
    latencySample: options.latencySample,
    fleetConnections: (size) => fleetConnectionsFor(options, size),
    bridgeConnections: options.bridgeConnections,
    phaseTimeoutMs: (size) => phaseTimeoutMsFor(options, size),
    abort: abortController.signal,
    logger: createLogger('bench', 'warn'),
    progress,
  };

  emit({
    kind: 'run',
    startedAt: new Date().toISOString(),
    command: ['scripts/bench', ...argv.map(quoteArgument)].join(' '),
    machine: readMachineInfo(),
    loadAverageAtStart: readLoadAverage(),
    settings: {
      sizes: options.sizes,
      phases: options.phases,
      workload: options.workload,
      latencySample: options.latencySample,
      bridgeConnections: options.bridgeConnections,
      fleetConnections: Object.fromEntries(options.sizes.map((size) => [String(size), fleetConnectionsFor(options, size)])),
      floorSignals: options.floorSignals,
    },
    note: options.note,
  });
  progress(`servers' data and logs go to ${dataRoot}`);

  let failed = false;
  for (const size of options.sizes) {
    if (abortController.signal.aborted) break;
    const runPhase = async <T extends ResultLine>(phase: Phase, run: () => Promise<T>): Promise<T | undefined> => {
      if (!options.phases.includes(phase) || abortController.signal.aborted) return undefined;
      try {
        const result = await run();
        emit(result);
        return result;
      } catch (error) {
        failed = true;
        const message = abortController.signal.aborted ? 'interrupted' : (error as Error).message;
        progress(`n=${size} ${phase} failed: ${message}`);
        emit({ kind: 'failure', phase, size, error: message });
        return undefined;
      }
    };

    const engine = await runPhase('engine', () => runEngine(context, size));
    const signals = floorSignalsFor(options, engine?.deviceWorkflows.signalsPerWorkflow.mean);
    await runPhase('temporal-floor', () => runTemporalFloor(context, size, signals));
    await runPhase('mqtt-floor', () => runMqttFloor(context, size));
  }

  const interrupted = abortController.signal.aborted;
  emit({ kind: 'run-end', endedAt: new Date().toISOString(), loadAverageAtEnd: readLoadAverage(), interrupted });
  if (options.keepData || failed) progress(`kept the servers' data and every process's log in ${dataRoot}`);
  else rmSync(dataRoot, { recursive: true, force: true });
  return { lines, interrupted };
}

/** Signals per child of the Temporal floor, and where the number came from, for the results. */
function floorSignalsFor(options: BenchOptions, engineMean: number | undefined): { perChild: number; source: string } {
  const reports = reportsPerDevice(options.workload);
  if (typeof options.floorSignals === 'number') return { perChild: options.floorSignals, source: 'set by --floor-signals' };
  if (options.floorSignals === 'auto' && engineMean !== undefined && engineMean >= 1) {
    return { perChild: Math.round(engineMean), source: "the mean of the engine's device workflows at this size" };
  }
  return { perChild: reports, source: 'every report of a device' };
}

function quoteArgument(argument: string): string {
  return /^[A-Za-z0-9_./,=:-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

import type { EngineRunResult } from './engine-run';
import type { MachineInfo } from './machine';
import type { MqttFloorResult } from './mqtt-floor-run';
import type { Phase } from './options';
import type { TemporalFloorResult } from './temporal-floor-run';
import type { Workload } from './workload';

/** First line of a run: when, where, and with which settings. */
export interface RunStartLine {
  kind: 'run';
  startedAt: string;
  /** The command line as typed, for the docs. */
  command: string;
  machine: MachineInfo;
  loadAverageAtStart: [number, number, number] | undefined;
  settings: {
    sizes: number[];
    phases: Phase[];
    workload: Workload;
    latencySample: number;
    bridgeConnections: number;
    fleetConnections: Record<string, number>;
    floorSignals: number | 'auto' | 'reports';
  };
  note: string | undefined;
}

/** Last line of a run. */
export interface RunEndLine {
  kind: 'run-end';
  endedAt: string;
  loadAverageAtEnd: [number, number, number] | undefined;
  interrupted: boolean;
}

/** A phase that did not produce figures, with the reason. */
export interface PhaseFailure {
  kind: 'failure';
  phase: Phase;
  size: number;
  error: string;
}

export type ResultLine = RunStartLine | RunEndLine | EngineRunResult | TemporalFloorResult | MqttFloorResult | PhaseFailure;

/** The results of one run, sorted by kind. */
export interface RunResults {
  start: RunStartLine | undefined;
  end: RunEndLine | undefined;
  engine: Map<number, EngineRunResult>;
  temporalFloor: Map<number, TemporalFloorResult>;
  mqttFloor: Map<number, MqttFloorResult>;
  failures: PhaseFailure[];
  sizes: number[];
}

export function collectResults(lines: readonly ResultLine[]): RunResults {
  const results: RunResults = { start: undefined, end: undefined, engine: new Map(), temporalFloor: new Map(), mqttFloor: new Map(), failures: [], sizes: [] };
  const sizes = new Set<number>();
  for (const line of lines) {
    switch (line.kind) {
      case 'run':
        results.start = line;
        break;
      case 'run-end':
        results.end = line;
        break;
      case 'engine':
        results.engine.set(line.size, line);
        sizes.add(line.size);
        break;
      case 'temporal-floor':
        results.temporalFloor.set(line.size, line);
        sizes.add(line.size);
        break;
      case 'mqtt-floor':
        results.mqttFloor.set(line.size, line);
        sizes.add(line.size);
        break;
      case 'failure':
        results.failures.push(line);
        sizes.add(line.size);
        break;
    }
  }
  results.sizes = [...sizes].sort((a, b) => a - b);
  return results;
}

/** Parses the JSON lines of an earlier run, naming the line that is not valid JSON. */
export function parseResultLines(text: string, source: string): ResultLine[] {
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line.startsWith('{'))
    .map(({ line, number }) => {
      try {
        return JSON.parse(line) as ResultLine;
      } catch (error) {
        throw new Error(`line ${number} of ${source} is not valid JSON: ${(error as Error).message}`);
      }
    });
}

import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startBenchTemporal } from './bench-servers';
import { Cleanup } from './cleanup';
import type { SignalClientConfig, SignalClientMessage } from './floor-signal-client';
import { floorParent, type FloorParentResult } from './floor-workflows';
import { measureSampledHistories, readRunChain, type SampledHistories } from './history-metrics';
import { readLogIssues, type LogIssues } from './log-issues';
import { NodeProcess } from './node-process';
import { phaseFolder, type PhaseContext } from './phase-context';
import { ProcessMeter, type ProcessUsage } from './process-stats';
import { waitForWorkerPoller, waitUntil } from './readiness';
import { pacingBoundPerMinute, pickOffsets, reportOffsetsMs, sampleDeviceNames, type Workload } from './workload';

const TASK_QUEUE = 'bench-floor';

/** Figures of the Temporal floor over `size` children. */
export interface TemporalFloorResult {
  kind: 'temporal-floor';
  size: number;
  workload: Workload;
  signalsPerChild: number;
  /** Source of the number of signals per child. */
  signalsSource: string;
  wallTimeMs: number;
  succeeded: number;
  timedOut: number;
  /** Succeeded children per minute of wall time. */
  devicesPerMinute: number;
  pacingBoundPerMinute: number;
  signalsSent: number;
  signalsFailed: number;
  childWorkflows: SampledHistories;
  parentHistory: { runs: number; eventsPerRun: number[]; totalEvents: number; eventsPerDevice: number };
  processes: Record<string, ProcessUsage>;
  logIssues: Record<string, LogIssues>;
}

/**
 * Measures what the Temporal server alone allows for the engine's workload. A parent workflow starts
 * `size` children with the campaign's window. Each child runs one trivial activity and then waits for
 * `signalsPerChild` signals, which a client process sends at the device's report times. No MQTT and no
 * MongoDB take part.
 */
export async function runTemporalFloor(context: PhaseContext, size: number, signals: { perChild: number; source: string }): Promise<TemporalFloorResult> {
  const folder = phaseFolder(context, size, 'temporal-floor');
  const cleanup = new Cleanup();
  const { abort, progress, workload } = context;
  try {
    progress(`n=${size} Temporal floor: starting a fresh Temporal dev server in ${folder}`);
    const temporal = await startBenchTemporal(folder, cleanup, context.logger, abort);
    const connection = await Connection.connect({ address: temporal.handle.address });
    cleanup.add('Temporal client', () => connection.close());
    const client = new Client({ connection, namespace: 'default' });

    const childIdPrefix = `floor:${size}:`;
    const sampled = sampleDeviceNames(size, context.latencySample).map((name) => `${childIdPrefix}${name}`);
    const offsetsMs = pickOffsets(reportOffsetsMs(workload), signals.perChild);
    const { signalClient, worker } = await startFloorProcesses(folder, temporal.handle.address, offsetsMs, sampled, client, cleanup, abort);

    const meter = new ProcessMeter();
    meter.add('floor-worker', worker.pid);
    meter.add('signal-client', signalClient.pid);
    meter.add('temporal', temporal.pid);
    meter.start();

    progress(`n=${size} Temporal floor: ${size} children, window ${workload.window}, ${signals.perChild} signals each (${signals.source})`);
    const parentId = `floor-parent-${size}`;
    const startedAt = Date.now();
    const handle = await client.workflow.start(floorParent, {
      taskQueue: TASK_QUEUE,
      workflowId: parentId,
      args: [{ childIdPrefix, count: size, window: workload.window, signalsPerChild: signals.perChild, stallTimeoutMs: 60_000, maxRunEvents: 10_000 }],
    });
    // The status is polled rather than awaiting result(), whose long poll would still be retrying
    // after an interrupt closes the connection.
    const endStatus = await waitUntil(
      `floor parent ${parentId} to end`,
      async () => {
        meter.sample();
        const status = (await handle.describe()).status.name;
        return status === 'RUNNING' || status === 'CONTINUED_AS_NEW' ? undefined : status;
      },
      { timeoutMs: context.phaseTimeoutMs(size), intervalMs: 1_000, abort, processes: [worker, signalClient] },
    );
    if (endStatus !== 'COMPLETED') throw new Error(`floor parent ${parentId} ended ${endStatus}; see ${worker.logPath}`);
    const result: FloorParentResult = await handle.result();
    const processes = meter.finish();
    const finished = result;
    const wallTimeMs = finished.endedAt - startedAt;

    signalClient.send({ type: 'finish' });
    const sent = await signalClient.waitForMessage((message) => {
      const typed = message as SignalClientMessage;
      return typed.type === 'result' ? typed : undefined;
    }, abort);

    progress(`n=${size} Temporal floor: done in ${(wallTimeMs / 1000).toFixed(1)} s; reading ${sampled.length} child histories and the parent's runs`);
    const childWorkflows = await measureSampledHistories(client, sampled, sent.records);
    const parentRuns = await readRunChain(client, parentId);
    const totalEvents = parentRuns.reduce((sum, run) => sum + run.events, 0);

    return {
      kind: 'temporal-floor',
      size,
      workload,
      signalsPerChild: signals.perChild,
      signalsSource: signals.source,
      wallTimeMs,
      succeeded: finished.succeeded,
      timedOut: finished.timedOut,
      devicesPerMinute: Math.round((finished.succeeded * 60_000) / Math.max(wallTimeMs, 1)),
      pacingBoundPerMinute: Math.round(pacingBoundPerMinute(workload, size)),
      signalsSent: sent.sent,
      signalsFailed: sent.failed,
      childWorkflows,
      parentHistory: { runs: parentRuns.length, eventsPerRun: parentRuns.map((run) => run.events), totalEvents, eventsPerDevice: Math.round((totalEvents / size) * 10) / 10 },
      processes,
      logIssues: { 'floor-worker': readLogIssues(worker.logPath), 'signal-client': readLogIssues(signalClient.logPath) },
    };
  } finally {
    progress(`n=${size} Temporal floor: stopping every process of the phase`);
    await cleanup.run();
  }
}

/**
 * Starts the signal client, then the floor's worker, which needs the client's address, and resolves once
 * the worker polls. Both register their stop with `cleanup`.
 */
async function startFloorProcesses(
  folder: string,
  temporalAddress: string,
  offsetsMs: number[],
  sampledWorkflowIds: string[],
  client: Client,
  cleanup: Cleanup,
  abort: AbortSignal,
): Promise<{ signalClient: NodeProcess; worker: NodeProcess }> {
  const signalConfig: SignalClientConfig = { temporalAddress, offsetsMs, sampledWorkflowIds };
  const signalClient = new NodeProcess({
    name: 'signal-client',
    script: 'bench/floor-signal-client.js',
    args: [JSON.stringify(signalConfig)],
    env: process.env,
    logPath: path.join(folder, 'signal-client.log'),
  });
  cleanup.add('signal client', () => signalClient.stop());
  const notifyUrl = await signalClient.waitForMessage((message) => {
    const typed = message as SignalClientMessage;
    return typed.type === 'listening' ? typed.url : undefined;
  }, abort);

  const worker = new NodeProcess({
    name: 'floor-worker',
    script: 'bench/floor-worker.js',
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, BENCH_FLOOR_TASK_QUEUE: TASK_QUEUE, BENCH_FLOOR_NOTIFY_URL: notifyUrl },
    logPath: path.join(folder, 'floor-worker.log'),
  });
  cleanup.add('floor worker', () => worker.stop());
  await waitForWorkerPoller(client, TASK_QUEUE, worker, abort);
  return { signalClient, worker };
}

import path from 'node:path';
import type { Client } from '@temporalio/client';
import { FERRETDB_VERSION } from '../dev-stack/tools';
import type { CampaignView } from '../workflows/campaign-types';
import { createCampaign, readCampaign } from './campaign-api';
import { Cleanup } from './cleanup';
import { startEngineStack } from './engine-stack';
import { isFleetMessage, type FleetTotals } from './fleet-messages';
import { registrationTimeoutMs, startFleetRunner } from './fleet-process';
import { measureSampledHistories, readRunChain, type SampledHistories } from './history-metrics';
import { readLogIssues, type LogIssues } from './log-issues';
import type { NodeProcess } from './node-process';
import { phaseFolder, type PhaseContext } from './phase-context';
import { ProcessMeter, type ProcessUsage } from './process-stats';
import { waitUntil } from './readiness';
import { BENCH_PRODUCT, pacingBoundPerMinute, sampleDeviceNames, type Workload } from './workload';

// Time between two progress lines during a campaign, in milliseconds.
const PROGRESS_INTERVAL_MS = 15_000;

/** Figures of one engine run over `size` devices. */
export interface EngineRunResult {
  kind: 'engine';
  size: number;
  workload: Workload;
  fleetConnections: number;
  bridgeConnections: number;
  /** Storage server of the run; production uses MongoDB. */
  storage: string;
  /** From starting the fleet until the registry held every device, in milliseconds. */
  registrationMs: number;
  campaign: {
    id: string;
    /** From POST /campaigns until the campaign workflow recorded its end, in milliseconds. */
    wallTimeMs: number;
    counts: CampaignView['counts'];
    notSucceeded: number;
    state: CampaignView['state'];
    /** Succeeded devices per minute of wall time. */
    devicesPerMinute: number;
    pacingBoundPerMinute: number;
    /** Most device upgrades running at once, counted in Temporal's visibility store every second. */
    maxInFlight: number;
  };
  deviceWorkflows: SampledHistories;
  campaignHistory: { runs: number; eventsPerRun: number[]; totalEvents: number; eventsPerDevice: number };
  processes: Record<string, ProcessUsage>;
  /** RSS growth of worker and bridge over the window divided by the most devices in flight, in KiB; an estimate. */
  memoryPerDeviceInFlightKiB: { worker: number | undefined; bridge: number | undefined };
  fleet: FleetTotals;
  logIssues: Record<string, LogIssues>;
}

/**
 * Runs the engine as in production, each part a process of its own, over a fleet of `size` simulated
 * devices: registers the fleet, starts one campaign over all of it through the API, waits for the end,
 * and measures throughput, signal latency, history size and each process's CPU time and memory.
 */
export async function runEngine(context: PhaseContext, size: number): Promise<EngineRunResult> {
  const folder = phaseFolder(context, size, 'engine');
  const cleanup = new Cleanup();
  const { abort, progress, workload } = context;
  try {
    progress(`n=${size} engine: starting Temporal, FerretDB, Mosquitto, then worker, bridge and API in ${folder}`);
    const { temporal, ferretdb, mosquitto, client, db, worker, bridge, api, apiUrl } = await startEngineStack(context, folder, cleanup);

    const sampled = sampleDeviceNames(size, context.latencySample);
    const connections = context.fleetConnections(size);
    progress(`n=${size} engine: connecting ${size} simulated devices with ${connections === 0 ? 'one MQTT connection each' : `${connections} shared MQTT connections`}`);
    const fleetStartedAt = Date.now();
    const fleet = startFleetRunner(context, folder, mosquitto.handle.url, size, sampled);
    cleanup.add('simulator', () => fleet.stop());
    await fleet.waitForMessage((message) => (isFleetMessage(message, 'started') ? message : undefined), abort);
    const devices = db.collection('devices');
    await waitUntil(
      `${size} registered devices`,
      async () => ((await devices.countDocuments({ product_name: BENCH_PRODUCT })) >= size ? true : undefined),
      { timeoutMs: registrationTimeoutMs(size), intervalMs: 1_000, abort, processes: [worker, bridge, api, fleet] },
    );
    const registrationMs = Date.now() - fleetStartedAt;
    progress(`n=${size} engine: fleet registered in ${(registrationMs / 1000).toFixed(1)} s; starting the campaign`);

    const meter = new ProcessMeter();
    for (const [name, pid] of [
      ['worker', worker.pid],
      ['bridge', bridge.pid],
      ['api', api.pid],
      ['temporal', temporal.pid],
      ['ferretdb', ferretdb.pid],
      ['mosquitto', mosquitto.pid],
      ['simulator', fleet.pid],
    ] as const) {
      meter.add(name, pid);
    }
    meter.start();

    const campaignId = `bench-${size}`;
    const postedAt = Date.now();
    await createCampaign(apiUrl, campaignId, workload, size);
    const maxInFlight = await waitForCampaignEnd(context, size, `campaign:${campaignId}`, client, meter, [worker, bridge, api, fleet]);
    // The API reads a completed campaign's view from the workflow's result, which needs no worker.
    const { view } = await readCampaign(apiUrl, campaignId);
    if (view === null) throw new Error(`GET /campaigns/${campaignId} returned no view after the campaign ended`);
    const processes = meter.finish();
    const wallTimeMs = (view.endedAt ?? Date.now()) - postedAt;

    fleet.send({ type: 'finish' });
    const fleetResult = await fleet.waitForMessage((message) => (isFleetMessage(message, 'result') ? message : undefined), abort);
    await fleet.exited;

    progress(`n=${size} engine: campaign ${view.state} in ${(wallTimeMs / 1000).toFixed(1)} s; reading ${sampled.length} device histories and the campaign's runs`);
    const deviceWorkflows = await measureSampledHistories(
      client,
      sampled.map((deviceName) => `upgrade:${BENCH_PRODUCT}:${deviceName}`),
      fleetResult.records.map((record) => ({ messageId: record.messageId, sentAt: record.publishedAt, progress: record.progress })),
    );
    const campaignRuns = await readRunChain(client, `campaign:${campaignId}`);
    const totalEvents = campaignRuns.reduce((sum, run) => sum + run.events, 0);

    const perDevice = (name: 'worker' | 'bridge') => {
      const usage = processes[name];
      if (usage?.maxSampledRssMiB === undefined || usage.rssAtStartMiB === undefined || maxInFlight === 0) return undefined;
      return Math.round(((usage.maxSampledRssMiB - usage.rssAtStartMiB) * 1024) / maxInFlight);
    };

    return {
      kind: 'engine',
      size,
      workload,
      fleetConnections: context.fleetConnections(size),
      bridgeConnections: context.bridgeConnections,
      storage: `FerretDB ${FERRETDB_VERSION} on SQLite`,
      registrationMs,
      campaign: {
        id: campaignId,
        wallTimeMs,
        counts: view.counts,
        notSucceeded: (view.counts.total ?? size) - view.counts.succeeded,
        state: view.state,
        devicesPerMinute: Math.round((view.counts.succeeded * 60_000) / Math.max(wallTimeMs, 1)),
        pacingBoundPerMinute: Math.round(pacingBoundPerMinute(workload, size)),
        maxInFlight,
      },
      deviceWorkflows,
      campaignHistory: { runs: campaignRuns.length, eventsPerRun: campaignRuns.map((run) => run.events), totalEvents, eventsPerDevice: Math.round((totalEvents / size) * 10) / 10 },
      processes,
      memoryPerDeviceInFlightKiB: { worker: perDevice('worker'), bridge: perDevice('bridge') },
      fleet: fleetResult.totals,
      logIssues: Object.fromEntries(['worker', 'bridge', 'api', 'simulator'].map((name) => [name, readLogIssues(path.join(folder, `${name}.log`))])),
    };
  } finally {
    progress(`n=${size} engine: stopping every process of the phase`);
    await cleanup.run();
  }
}

/**
 * Waits until the campaign workflow has ended, sampling the processes' memory every second, and returns
 * the most device upgrades that ran at once. Devices in flight are counted in Temporal's visibility
 * store, because the campaign's view comes from a query that the worker must run, and under load the
 * API returns the stored summary instead, which can be a minute old. The end is detected from the
 * workflow's status for the same reason.
 */
async function waitForCampaignEnd(
  context: PhaseContext,
  size: number,
  workflowId: string,
  client: Client,
  meter: ProcessMeter,
  processes: readonly NodeProcess[],
): Promise<number> {
  const campaignHandle = client.workflow.getHandle(workflowId);
  let maxInFlight = 0;
  let lastProgressAt = Date.now();
  await waitUntil(
    `${workflowId} to end`,
    async () => {
      meter.sample();
      const running = (await client.workflow.count(`WorkflowType = 'upgradeDevice' AND ExecutionStatus = 'Running'`)).count;
      maxInFlight = Math.max(maxInFlight, running);
      if (Date.now() - lastProgressAt >= PROGRESS_INTERVAL_MS) {
        lastProgressAt = Date.now();
        const closed = (await client.workflow.count(`WorkflowType = 'upgradeDevice' AND ExecutionStatus != 'Running'`)).count;
        context.progress(`n=${size} engine: ${closed} device upgrades ended, ${running} running`);
      }
      const { status } = await campaignHandle.describe();
      return status.name === 'RUNNING' || status.name === 'CONTINUED_AS_NEW' ? undefined : true;
    },
    { timeoutMs: context.phaseTimeoutMs(size), intervalMs: 1_000, abort: context.abort, processes },
  );
  return maxInFlight;
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { startFerretdbServer, type FerretdbServerHandle } from '../../dev-stack/servers/ferretdb';
import { startMosquittoServer, type MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';
import { startTemporalServer, type TemporalServerHandle } from '../../dev-stack/servers/temporal';
import { Fleet } from '../../device-sim/fleet';
import type { CampaignView } from '../../workflows/campaign-types';
import { CAMPAIGN_FIRMWARE } from './campaign-harness';
import { ProcessEngine } from './process-engine';
import { waitFor } from './worker-harness';

/** Servers of one fault test, which the test may kill and restart without disturbing other tests. */
export interface FaultServers {
  dataDir: string;
  temporal: TemporalServerHandle;
  ferretdb: FerretdbServerHandle;
  mosquitto: MosquittoServerHandle;
}

export interface FaultContext {
  servers: FaultServers;
  engine: ProcessEngine;
  fleet: Fleet;
  campaignId: string;
}

export interface FaultRunResult {
  view: CampaignView;
  /** Outcome records of the campaign, by device name. */
  records: Map<string, { outcome: string; reason: string | null; attempts: number }>;
  /** Accepted `$ota_upgrade` commands per device. */
  commands: Map<string, number>;
  engine: ProcessEngine;
  /** Reports the fleet published and the broker acknowledged, status reports on connect included. */
  reportsPublished: number;
}

const PRODUCT = 'faulty';

/** Starts Temporal, FerretDB and Mosquitto (with persistence, so its sessions survive a restart) for one test. */
export async function startFaultServers(label: string): Promise<FaultServers> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `ota-fault-${label}-`));
  const [temporal, ferretdb, mosquitto] = await Promise.all([
    startTemporalServer({ dataDir: path.join(dataDir, 'temporal') }),
    startFerretdbServer({ dataDir: path.join(dataDir, 'ferretdb') }),
    startMosquittoServer({ dataDir: path.join(dataDir, 'mosquitto'), persistence: true, autosaveIntervalSeconds: 1 }),
  ]);
  return { dataDir, temporal, ferretdb, mosquitto };
}

export async function stopFaultServers(servers: FaultServers | undefined): Promise<void> {
  if (!servers) return;
  await Promise.all([servers.temporal.stop(), servers.ferretdb.stop(), servers.mosquitto.stop()]);
  if (process.env.OTA_TEST_KEEP_DATA !== '1') rmSync(servers.dataDir, { recursive: true, force: true });
}

/**
 * Runs a campaign over `devices` simulated devices on engine processes, calls `fault` once a share of the
 * devices has finished, and waits for the campaign to end. Devices pace their reports slowly enough that
 * the fault lands while many are mid-download.
 */
export async function runCampaignUnderFault(options: {
  servers: FaultServers;
  label: string;
  devices: number;
  faultAtPercentDone: number;
  fault: (context: FaultContext) => Promise<void>;
  /** Starts the engine's processes; by default one worker, one bridge and the API. */
  startEngine?: (engine: ProcessEngine) => Promise<void>;
  /** Environment for every engine process, added to the harness's own. */
  engineEnv?: Record<string, string>;
}): Promise<FaultRunResult> {
  const { servers } = options;
  const engine = await ProcessEngine.create({
    dataDir: path.join(servers.dataDir, 'engine'),
    servers: { temporalAddress: servers.temporal.address, mongoUrl: servers.ferretdb.url, mqttUrl: servers.mosquitto.url },
    label: options.label,
    env: options.engineEnv,
  });
  const fleet = new Fleet({
    productName: PRODUCT,
    count: options.devices,
    timings: { stepIntervalMs: 300, steps: 5, installDelayMs: 300 },
    endpoint: { url: servers.mosquitto.url },
    sharedConnections: 4,
    logEvents: false,
    logger: pino({ level: 'silent' }),
  });
  try {
    await (options.startEngine ?? ((started) => started.startAll()))(engine);
    await fleet.start();
    await waitForRegisteredDevices(servers, engine, options.devices, options.label);

    const created = await fetchJson(engine, 'POST', '/campaigns', {
      productName: PRODUCT,
      target: { kind: 'all' },
      firmware: CAMPAIGN_FIRMWARE,
      rollout: { maxConcurrent: 60, maxStartsPerMinute: 100_000 },
      // Long enough to ride out each fault; a device that still stalls is retried, which the checks allow.
      upgrade: { stallTimeoutMs: 45_000, verifyTimeoutMs: 45_000, attemptTimeoutMs: 300_000, maxAttempts: 3, initialBackoffMs: 1_000 },
      tuning: { reconcileIntervalMs: 20_000 },
    });
    const campaignId = (created.body as { id: string }).id;
    await waitFor(
      `campaign to pass ${options.faultAtPercentDone}% done`,
      async () => {
        const view = (await fetchJson(engine, 'GET', `/campaigns/${campaignId}`)).body as { view: CampaignView | null };
        return view.view && (view.view.percentDone ?? 0) >= options.faultAtPercentDone ? view : undefined;
      },
      120_000,
    );

    await options.fault({ servers, engine, fleet, campaignId });

    const view = await waitFor(
      'campaign to end after the fault',
      async () => {
        const response = await fetchJson(engine, 'GET', `/campaigns/${campaignId}`).catch(() => undefined);
        const body = response?.body as { view: CampaignView | null; workflowStatus: string | null } | undefined;
        return body?.view && body.workflowStatus !== null && body.workflowStatus !== 'RUNNING' ? body.view : undefined;
      },
      360_000,
    );
    const records = await readOutcomeRecords(servers, options.label, campaignId);
    const commands = new Map(fleet.devices.map((device) => [device.deviceName, device.acceptedCommandCount]));
    const reportsPublished = fleet.devices.reduce((sum, device) => sum + device.reportsPublished.length, 0);
    return { view, records, commands, engine, reportsPublished };
  } finally {
    await fleet.close();
    await engine.stop();
  }
}

/** Lists the devices that did not succeed, with outcome, reason and attempts, for a readable failure. */
export function devicesNotSucceeded(result: FaultRunResult): string[] {
  return [...result.records]
    .filter(([, record]) => record.outcome !== 'succeeded')
    .map(([deviceName, record]) => `${deviceName}: ${record.outcome} (${record.reason ?? 'no reason'}) after ${record.attempts} attempt(s)`)
    .sort();
}

/**
 * The checks every fault test makes: each device ended in exactly one outcome, the counts match the
 * records, and no device got more commands than its upgrade made attempts.
 */
export function checkCampaignIntegrity(result: FaultRunResult, devices: number): string[] {
  const problems: string[] = [];
  const { view, records, commands } = result;
  if (view.state !== 'completed') problems.push(`campaign ended ${view.state}, not completed`);
  if (view.counts.total !== devices) problems.push(`total is ${view.counts.total}, not ${devices}`);
  const counted = view.counts.succeeded + view.counts.failed + view.counts.timedOut + view.counts.skipped + view.counts.cancelled;
  if (counted !== devices) problems.push(`outcomes add up to ${counted}, not ${devices}`);
  if (records.size !== devices) problems.push(`${records.size} outcome records, not ${devices}`);

  const byOutcome = new Map<string, number>();
  for (const record of records.values()) byOutcome.set(record.outcome, (byOutcome.get(record.outcome) ?? 0) + 1);
  const expected: Record<string, number> = {
    succeeded: view.counts.succeeded,
    failed: view.counts.failed,
    timed_out: view.counts.timedOut,
    skipped: view.counts.skipped,
    cancelled: view.counts.cancelled,
  };
  for (const [outcome, count] of Object.entries(expected)) {
    if ((byOutcome.get(outcome) ?? 0) !== count) problems.push(`${byOutcome.get(outcome) ?? 0} ${outcome} records, counted ${count}`);
  }
  for (const [deviceName, accepted] of commands) {
    const attempts = records.get(deviceName)?.attempts ?? 0;
    if (accepted > attempts) problems.push(`${deviceName} accepted ${accepted} commands in ${attempts} attempt(s)`);
  }
  return problems;
}

async function waitForRegisteredDevices(servers: FaultServers, engine: ProcessEngine, count: number, label: string): Promise<void> {
  const client = await MongoClient.connect(servers.ferretdb.url);
  try {
    const devices = client.db(databaseName(label)).collection('devices');
    await waitFor(`${count} registered devices`, async () => ((await devices.countDocuments({ product_name: PRODUCT })) >= count ? true : undefined), 120_000);
  } finally {
    await client.close();
  }
}

async function readOutcomeRecords(servers: FaultServers, label: string, campaignId: string): Promise<FaultRunResult['records']> {
  const client = await MongoClient.connect(servers.ferretdb.url);
  try {
    const documents = await client
      .db(databaseName(label))
      .collection<{ device_name: string; outcome: string; reason: string | null; attempts: number }>('campaign_outcomes')
      .find({ campaign_id: campaignId })
      .toArray();
    return new Map(documents.map((document) => [document.device_name, { outcome: document.outcome, reason: document.reason, attempts: document.attempts }]));
  } finally {
    await client.close();
  }
}

function databaseName(label: string): string {
  return `ota_${label.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Sends a request to the engine's API; rejects on network errors so callers can retry through outages. */
export async function fetchJson(engine: ProcessEngine, method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${engine.apiUrl}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${urlPath} answered ${response.status}: ${text.slice(0, 300)}`);
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

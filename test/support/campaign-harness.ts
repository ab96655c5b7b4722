import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import pino from 'pino';
import { Fleet } from '../../device-sim/fleet';
import { parseScenarioMixText } from '../../device-sim/scenario-mix';
import type { CampaignView } from '../../workflows/campaign-types';
import { callApi, type RunningEngine } from './engine-harness';
import { waitFor } from './worker-harness';

/** Device timings fast enough for tests: five steps 50 ms apart, then 100 ms of installing. */
export const FAST_DEVICE_TIMINGS = { stepIntervalMs: 50, steps: 5, installDelayMs: 100 };

export const CAMPAIGN_FIRMWARE = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'c4ca4238a0b923820dcc509a6f75849b',
};

/**
 * Per-device settings for campaign tests: one attempt, and timeouts short enough for stalled devices
 * but well above the lag of reports through a bridge busy with a whole test fleet on two cores.
 */
export const FAST_UPGRADE = { stallTimeoutMs: 8_000, verifyTimeoutMs: 8_000, attemptTimeoutMs: 60_000, maxAttempts: 1 };

export function uniqueProduct(label: string): string {
  return `${label}${randomUUID().slice(0, 6)}`;
}

/**
 * Starts a fleet of simulated devices on the harness's broker and waits until the bridge registered
 * every one of them, so a campaign over all registered devices sees the whole fleet.
 */
export async function startFleet(
  engine: RunningEngine,
  options: { productName: string; count: number; mix?: string; firmwareVersion?: string; firstIndex?: number; timings?: Partial<typeof FAST_DEVICE_TIMINGS> },
): Promise<Fleet> {
  const fleet = new Fleet({
    productName: options.productName,
    count: options.count,
    firstIndex: options.firstIndex,
    firmwareVersion: options.firmwareVersion,
    mix: options.mix === undefined ? undefined : parseScenarioMixText(options.mix),
    timings: { ...FAST_DEVICE_TIMINGS, ...options.timings },
    endpoint: { url: engine.mqtt.url },
    sharedConnections: 4,
    logEvents: false,
    logger: pino({ level: 'silent' }),
  });
  await fleet.start();
  return fleet;
}

/** Waits until the registry holds `count` devices of the product. */
export async function waitForRegistered(engine: RunningEngine, productName: string, count: number): Promise<void> {
  const client = await MongoClient.connect(engine.mongo.url);
  try {
    const devices = client.db(engine.mongo.database).collection('devices');
    await waitFor(`${count} registered devices of ${productName}`, async () => {
      const registered = await devices.countDocuments({ product_name: productName });
      return registered >= count ? registered : undefined;
    }, 60_000);
  } finally {
    await client.close();
  }
}

/** Creates a campaign through the API and returns the response body; fails the test on any other status than 201. */
export async function createCampaign(engine: RunningEngine, body: Record<string, unknown>): Promise<{ id: string; workflowId: string }> {
  const response = await callApi(engine, 'POST', '/campaigns', { firmware: CAMPAIGN_FIRMWARE, upgrade: FAST_UPGRADE, ...body });
  if (response.status !== 201) throw new Error(`POST /campaigns answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Reads the campaign's view through the API. */
export async function campaignView(engine: RunningEngine, id: string): Promise<{ view: CampaignView; workflowStatus: string | null }> {
  const response = await callApi(engine, 'GET', `/campaigns/${id}`);
  if (response.status !== 200) throw new Error(`GET /campaigns/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Waits until the campaign's workflow has ended and returns its final view. */
export async function waitForCampaignEnd(engine: RunningEngine, id: string, timeoutMs = 120_000): Promise<CampaignView> {
  return waitFor(
    `campaign ${id} to end`,
    async () => {
      const { view, workflowStatus } = await campaignView(engine, id);
      return workflowStatus !== null && workflowStatus !== 'RUNNING' ? view : undefined;
    },
    timeoutMs,
  );
}

/** Waits until the campaign's view satisfies `check`. */
export async function waitForView(engine: RunningEngine, id: string, description: string, check: (view: CampaignView) => boolean, timeoutMs = 60_000): Promise<CampaignView> {
  return waitFor(
    description,
    async () => {
      const { view } = await campaignView(engine, id);
      return view && check(view) ? view : undefined;
    },
    timeoutMs,
  );
}

export interface OutcomeRow {
  deviceName: string;
  outcome: string;
  reason: string | null;
  attempts: number;
  round: number;
}

/** Reads every outcome record of a campaign through the paged API. */
export async function allOutcomes(engine: RunningEngine, id: string, outcome?: string): Promise<OutcomeRow[]> {
  const rows: OutcomeRow[] = [];
  let after: string | null = null;
  for (;;) {
    const query = new URLSearchParams({ limit: '50', ...(outcome ? { outcome } : {}), ...(after ? { after } : {}) });
    const response = await callApi(engine, 'GET', `/campaigns/${id}/devices?${query.toString()}`);
    if (response.status !== 200) throw new Error(`GET devices answered ${response.status}: ${JSON.stringify(response.body)}`);
    rows.push(...response.body.devices);
    after = response.body.next;
    if (after === null) return rows;
  }
}

/** Counts accepted `$ota_upgrade` commands per device of a fleet. */
export function commandCounts(fleet: Fleet): Map<string, number> {
  return new Map(fleet.devices.map((device) => [device.deviceName, device.acceptedCommandCount]));
}

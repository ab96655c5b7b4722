import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Fleet } from '../../device-sim/fleet';
import { startTemporalServer, type TemporalServerHandle } from '../../dev-stack/servers/temporal';
import { createLogger } from '../../observability/logger';
import { upgradeWorkflowId } from '../../protocol';
import { readClosedUpgradeState } from '../../temporal/upgrade-runs';
import { campaignWorkflowId } from '../../workflows/campaign-input';
import type { UpgradeState } from '../../workflows/upgrade-tracker';
import {
  allOutcomes,
  CAMPAIGN_FIRMWARE,
  createCampaign,
  FAST_UPGRADE,
  startFleet,
  waitForCampaignEnd,
  waitForRegistered,
  type OutcomeRow,
} from '../support/campaign-harness';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import { waitFor } from '../support/worker-harness';
import { CHROMIUM_PATH, isChromiumInstalled, launchLoopbackBrowser, waitForFrameText, type LoopbackBrowser } from './loopback-browser';

// The real Temporal Web UI (UI 2.42.1, served by the Temporal CLI v1.5.1 dev server) in headless Chromium,
// over a campaign that the engine ran. The global setup's dev server runs without the UI, so this file
// starts one of its own. That server starts empty, so every name is fixed, and the screenshots show the
// names that the README uses.

const PRODUCT = 'lamps';
const CAMPAIGN_ID = 'lamps-1.1';
const CAMPAIGN_WORKFLOW_ID = campaignWorkflowId(CAMPAIGN_ID);
const CAMPAIGN_DEVICES = ['dev-00001', 'dev-00002', 'dev-00003', 'dev-00004', 'dev-00005'];
// Upgraded on its own, outside the campaign, so the filtered list has a workflow to leave out.
const OTHER_DEVICE = 'dev-00006';
const LIST_QUERY = `OtaCampaign = "${CAMPAIGN_WORKFLOW_ID}"`;
// The UI renders client-side and shares two cores with the servers and other test files.
const UI_TIMEOUT_MS = 60_000;

// Folder to keep the screenshots in. Without it they go to a temporary folder that is deleted afterwards.
// OTA_TEST_SCREENSHOT_DIR=docs/images refreshes the README's screenshots.
const SCREENSHOT_DIR_ENV = 'OTA_TEST_SCREENSHOT_DIR';

const chromiumInstalled = isChromiumInstalled();
if (!chromiumInstalled) {
  console.warn(`skipping the Temporal UI browser tests: ${CHROMIUM_PATH} is missing; run 'scripts/provision --chromium' to install it`);
}
const describeWithChromium = chromiumInstalled ? describe : describe.skip;

let dataDir: string;
let temporal: TemporalServerHandle | undefined;
let engine: RunningEngine | undefined;
const fleets: Fleet[] = [];
let browser: LoopbackBrowser | undefined;
let outcomes: OutcomeRow[];
/** Run id of each campaign device's upgrade, for the URL of its page. */
const runIds = new Map<string, string>();
let uiUrl: string;
let screenshotDir: string;

/**
 * Starts the worker, the bridge and the API against the given Temporal server. startEngine reads the
 * address from TEMPORAL_ADDRESS, and Jest gives each test file its own copy of process.env, so changing it
 * here does not move other test files off the global setup's server.
 */
async function startEngineOn(temporalAddress: string, label: string): Promise<RunningEngine> {
  process.env.TEMPORAL_ADDRESS = temporalAddress;
  return startEngine(label);
}

async function runUpgradeOutsideCampaign(running: RunningEngine): Promise<void> {
  const response = await callApi(running, 'POST', `/ota/${PRODUCT}/${OTHER_DEVICE}`, { ...CAMPAIGN_FIRMWARE, options: FAST_UPGRADE });
  if (response.status !== 200) throw new Error(`POST /ota returned ${response.status}: ${JSON.stringify(response.body)}`);
  await running.client.workflow.getHandle(response.body.workflowId, response.body.runId).result();
}

function runIdOf(deviceName: string): string {
  const runId = runIds.get(deviceName);
  if (runId === undefined) throw new Error(`no upgrade run recorded for ${deviceName}`);
  return runId;
}

function failedDevice(): string {
  const failed = outcomes.filter((outcome) => outcome.outcome === 'failed');
  if (failed.length !== 1) throw new Error(`expected exactly one failed device, got ${JSON.stringify(failed)}`);
  return failed[0]!.deviceName;
}

/** Reads the final state of a campaign device's upgrade from its result or failure, as the API does. */
async function finalState(deviceName: string, status: 'COMPLETED' | 'FAILED'): Promise<UpgradeState> {
  const workflowId = upgradeWorkflowId({ productName: PRODUCT, deviceName });
  const state = await readClosedUpgradeState(engine!.client, workflowId, runIdOf(deviceName), status);
  if (state === null) throw new Error(`upgrade ${workflowId} has no final state`);
  return state;
}

/** Returns the progress part of the current details as the upgrade workflow writes them. */
function progressText(state: UpgradeState): string {
  return state.progress === null ? 'no progress yet' : `progress ${state.progress}`;
}

function upgradePageUrl(deviceName: string, tab: 'user-metadata' | 'search-attributes'): string {
  const workflowId = encodeURIComponent(upgradeWorkflowId({ productName: PRODUCT, deviceName }));
  return `${uiUrl}/namespaces/default/workflows/${workflowId}/${runIdOf(deviceName)}/${tab}`;
}

function workflowRow(page: Page, workflowId: string) {
  return page.getByRole('row').filter({ has: page.getByRole('link', { name: workflowId, exact: true }) });
}

/** Waits until the page's header names the workflow with the given status, such as 'Completed'. */
async function waitForWorkflowHeader(page: Page, workflowId: string, status: string): Promise<void> {
  const header = page.locator('header').filter({ hasText: workflowId }).first();
  await header.getByText(status, { exact: true }).first().waitFor({ timeout: UI_TIMEOUT_MS });
}

describeWithChromium('Temporal UI', () => {
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ota-temporal-ui-'));
    const keptScreenshotDir = process.env[SCREENSHOT_DIR_ENV];
    screenshotDir = keptScreenshotDir ? path.resolve(keptScreenshotDir) : path.join(dataDir, 'screenshots');

    temporal = await startTemporalServer({ dataDir: path.join(dataDir, 'temporal'), ui: true, logger: createLogger('temporal-ui-test', 'warn') });
    uiUrl = temporal.uiUrl!;
    engine = await startEngineOn(temporal.address, 'temporal-ui');

    // One device of five fails at 40 % with download_error; which one depends only on the mix.
    fleets.push(await startFleet(engine, { productName: PRODUCT, count: CAMPAIGN_DEVICES.length, mix: 'success=4,download_error@40=1' }));
    fleets.push(await startFleet(engine, { productName: PRODUCT, count: 1, firstIndex: 6 }));
    await waitForRegistered(engine, PRODUCT, CAMPAIGN_DEVICES.length + 1);
    await runUpgradeOutsideCampaign(engine);

    await createCampaign(engine, {
      id: CAMPAIGN_ID,
      productName: PRODUCT,
      target: { kind: 'devices', deviceNames: CAMPAIGN_DEVICES },
      rollout: { maxConcurrent: 5, maxStartsPerMinute: 100_000 },
    });
    await waitForCampaignEnd(engine, CAMPAIGN_ID);
    outcomes = await allOutcomes(engine, CAMPAIGN_ID);
    for (const deviceName of CAMPAIGN_DEVICES) {
      const description = await engine.client.workflow.getHandle(upgradeWorkflowId({ productName: PRODUCT, deviceName })).describe();
      runIds.set(deviceName, description.runId);
    }

    // The list reads Temporal's visibility store, which records a closed run shortly after it closes.
    const client = engine.client;
    await waitFor(
      'the campaign and its device upgrades to be closed in the visibility store',
      async () => {
        const { count } = await client.workflow.count(`${LIST_QUERY} AND ExecutionStatus != "Running"`);
        return count === CAMPAIGN_DEVICES.length + 1 ? count : undefined;
      },
      30_000,
    );

    browser = await launchLoopbackBrowser(path.join(dataDir, 'chromium-profile'));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(fleets.map((fleet) => fleet.close()));
    await engine?.stop();
    await temporal?.stop();
    if (process.env.OTA_TEST_KEEP_DATA === '1') {
      process.stderr.write(`\nTemporal UI test data and logs kept in ${dataDir}\n`);
    } else if (dataDir) {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('ran the campaign with one failed device', () => {
    expect(outcomes.map((outcome) => outcome.deviceName).sort()).toEqual(CAMPAIGN_DEVICES);
    expect(outcomes.filter((outcome) => outcome.outcome === 'succeeded')).toHaveLength(4);
    expect(outcomes.filter((outcome) => outcome.outcome === 'failed').map((outcome) => outcome.reason)).toEqual(['download_error']);
  });

  it('lists the campaign upgrades by search attribute', async () => {
    const page = browser!.page;
    // The list page takes its filter from the `query` URL parameter, in the list filter syntax.
    await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(LIST_QUERY)}`);

    const failed = failedDevice();
    for (const deviceName of CAMPAIGN_DEVICES) {
      const workflowId = upgradeWorkflowId({ productName: PRODUCT, deviceName });
      const status = deviceName === failed ? 'Failed' : 'Completed';
      await workflowRow(page, workflowId).getByText(status, { exact: true }).waitFor({ timeout: UI_TIMEOUT_MS });
    }
    // The campaign's own workflow carries OtaCampaign too, so it is listed with its devices.
    await workflowRow(page, CAMPAIGN_WORKFLOW_ID).getByText('Completed', { exact: true }).waitFor({ timeout: UI_TIMEOUT_MS });
    await page.getByText(`${CAMPAIGN_DEVICES.length + 1} Workflows`, { exact: true }).waitFor({ timeout: UI_TIMEOUT_MS });
    expect(await workflowRow(page, upgradeWorkflowId({ productName: PRODUCT, deviceName: OTHER_DEVICE })).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'upgradeDevice', exact: true }).count()).toBe(CAMPAIGN_DEVICES.length);

    await page.screenshot({ path: path.join(screenshotDir, 'temporal-ui-campaign-list.png') });
  });

  it('shows a succeeded upgrade with its summary and current details', async () => {
    const page = browser!.page;
    const deviceName = CAMPAIGN_DEVICES.find((name) => name !== failedDevice())!;
    await page.goto(upgradePageUrl(deviceName, 'user-metadata'));

    await waitForWorkflowHeader(page, upgradeWorkflowId({ productName: PRODUCT, deviceName }), 'Completed');

    await waitForFrameText(page, `Upgrade ${PRODUCT}/${deviceName} to firmware 1.1 (${CAMPAIGN_WORKFLOW_ID})`, { timeoutMs: UI_TIMEOUT_MS });
    await waitForFrameText(page, `package ${CAMPAIGN_FIRMWARE.url} (1000 bytes, md5 ${CAMPAIGN_FIRMWARE.md5})`, { timeoutMs: UI_TIMEOUT_MS });
    // The UI reads current details with a query, which the running worker handles also for a closed run.
    // Its Markdown renderer turns "attempt 1/1" into a fraction, so the check skips that part.
    // The progress shown is the last one the workflow accepted. It stays below 100 when the workflow received
    // the new firmware_ver before the report of progress 100, so it is compared with the final state.
    const details = await waitForFrameText(page, 'succeeded, attempt ', { timeoutMs: UI_TIMEOUT_MS, reloadEveryMs: 20_000 });
    expect(await details.locator('body').innerText()).toContain(progressText(await finalState(deviceName, 'COMPLETED')));
    await details.locator('strong', { hasText: 'succeeded' }).waitFor({ timeout: UI_TIMEOUT_MS });

    // Which timers and status reads an upgrade runs depends on how fast the device reports, so only the
    // publish activity, which every attempt runs, is checked.
    await page.getByText('publish $ota_upgrade 1.1', { exact: true }).waitFor({ timeout: UI_TIMEOUT_MS });

    await page.screenshot({ path: path.join(screenshotDir, 'temporal-ui-device-upgrade.png') });
  });

  it('shows a failed upgrade with its reason', async () => {
    const page = browser!.page;
    const deviceName = failedDevice();
    await page.goto(upgradePageUrl(deviceName, 'user-metadata'));

    await waitForWorkflowHeader(page, upgradeWorkflowId({ productName: PRODUCT, deviceName }), 'Failed');
    await waitForFrameText(page, `Upgrade ${PRODUCT}/${deviceName} to firmware 1.1 (${CAMPAIGN_WORKFLOW_ID})`, { timeoutMs: UI_TIMEOUT_MS });
    const details = await waitForFrameText(page, 'failed, attempt ', { timeoutMs: UI_TIMEOUT_MS, reloadEveryMs: 20_000 });
    const detailsText = await details.locator('body').innerText();
    expect(detailsText).toContain(progressText(await finalState(deviceName, 'FAILED')));
    expect(detailsText).toContain('last failure download_error');

    await page.goto(upgradePageUrl(deviceName, 'search-attributes'));
    await page.getByText('"OtaState": "failed"').waitFor({ timeout: UI_TIMEOUT_MS });
    await page.getByText('"OtaFailureReason": "download_error"').waitFor({ timeout: UI_TIMEOUT_MS });
  });

  it('sends no request beyond the loopback address', () => {
    expect(browser!.foreignResponses).toEqual([]);
    expect(browser!.foreignRequests).toEqual([]);
  });
});

import { MongoClient } from 'mongodb';
import { startApiService } from '../../api/api-service';
import type { Fleet } from '../../device-sim/fleet';
import { MongoCampaignStorage } from '../../storage/campaign-storage';
import { DEFAULT_CAMPAIGN_TUNING } from '../../workflows/campaign-input';
import { CAMPAIGN_FIRMWARE, campaignView, createCampaign, startFleet, uniqueProduct, waitForCampaignEnd, waitForRegistered, waitForView } from '../support/campaign-harness';
import { startEngine, TEST_UPGRADE_DEFAULTS, type RunningEngine } from '../support/engine-harness';

// Start-up reconciliation: an API that starts finds campaigns left behind by a crash and repairs them.

let engine: RunningEngine;
let mongo: MongoClient;
const fleets: Fleet[] = [];

beforeAll(async () => {
  engine = await startEngine('campaign-reconcile');
  mongo = await MongoClient.connect(engine.mongo.url);
});

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  await mongo?.close();
  await engine?.stop();
});

/** Starts a second API on the same servers, as a restart would, and waits for its reconciliation. */
async function restartApi(): Promise<void> {
  const api = await startApiService({
    http: { host: '127.0.0.1', port: 0 },
    temporal: engine.temporal,
    mongo: engine.mongo,
    defaults: TEST_UPGRADE_DEFAULTS,
    logger: engine.logger,
  });
  await api.reconciled;
  await api.stop();
}

describe('campaign reconciliation at start-up', () => {
  it('starts a campaign that was stored but never started', async () => {
    const productName = uniqueProduct('orphan');
    fleets.push(await startFleet(engine, { productName, count: 3 }));
    await waitForRegistered(engine, productName, 3);
    // The state a crash of the API leaves between storing a campaign and starting its workflow.
    const storage = new MongoCampaignStorage(mongo.db(engine.mongo.database));
    const id = `orphan-${productName}`;
    await storage.campaigns.create({
      _id: id,
      product_name: productName,
      target: { kind: 'all' },
      firmware: CAMPAIGN_FIRMWARE,
      rollout: { maxConcurrent: 10, maxStartsPerMinute: 1_000 },
      upgrade: {
        timeouts: { stallMs: 8_000, verifyMs: 8_000, attemptMs: 60_000, commandTtlMs: 60_000 },
        retry: { maxAttempts: 1, initialBackoffMs: 100, backoffCoefficient: 2, maxBackoffMs: 1_000, retryableReasons: [] },
      },
      tuning: DEFAULT_CAMPAIGN_TUNING,
      start_at: null,
      created_at: new Date(),
      workflow_id: `campaign:${id}`,
      summary: null,
    });

    await restartApi();
    const view = await waitForCampaignEnd(engine, id);
    expect(view.state).toBe('completed');
    expect(view.counts.succeeded).toBe(3);
  });

  it('closes the stored state of a terminated campaign', async () => {
    const productName = uniqueProduct('term');
    fleets.push(await startFleet(engine, { productName, count: 4, mix: 'silent=4' }));
    await waitForRegistered(engine, productName, 4);
    const campaign = await createCampaign(engine, { productName, target: { kind: 'all' }, upgrade: { stallTimeoutMs: 60_000 } });
    await waitForView(engine, campaign.id, 'devices in flight', (view) => view.inFlight > 0);
    await engine.client.workflow.getHandle(campaign.workflowId).terminate('operator stopped it');

    await restartApi();
    const { view, workflowStatus } = await campaignView(engine, campaign.id);
    expect(workflowStatus).toBe('TERMINATED');
    const stored = await new MongoCampaignStorage(mongo.db(engine.mongo.database)).campaigns.get(campaign.id);
    expect(stored?.summary?.state).toBe('cancelled');
    expect(stored?.summary?.view.abortReason).toMatch(/ended as TERMINATED/);
    expect(view.state).toBe('cancelled');
  });
});

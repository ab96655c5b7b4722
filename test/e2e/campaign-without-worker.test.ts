import type { Fleet } from '../../device-sim/fleet';
import { startWorkerService, type WorkerService } from '../../worker/worker-service';
import { createCampaign, FAST_UPGRADE, startFleet, uniqueProduct, waitForCampaignEnd, waitForRegistered, waitForView } from '../support/campaign-harness';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import { waitFor } from '../support/worker-harness';

// A campaign read and controlled while no worker runs. The read returns the stored summary and marks
// it as stored. The API cannot confirm a control in time and returns a 503 that explains why.

const PRODUCT = uniqueProduct('noworker');
let engine: RunningEngine;
let fleet: Fleet | undefined;
let secondWorker: WorkerService | undefined;

beforeAll(async () => {
  engine = await startEngine('campaign-no-worker', { productNames: [PRODUCT] });
});

afterAll(async () => {
  await fleet?.close();
  await secondWorker?.stop();
  await engine?.stop();
});

describe('campaign control without a worker', () => {
  it('returns 503, then pauses', async () => {
    // Slow devices keep the campaign running while the worker is away.
    fleet = await startFleet(engine, { productName: PRODUCT, count: 6, timings: { stepIntervalMs: 1_000 } });
    await waitForRegistered(engine, PRODUCT, 6);
    const campaign = await createCampaign(engine, {
      productName: PRODUCT,
      target: { kind: 'all' },
      rollout: { maxConcurrent: 2, maxStartsPerMinute: 100_000 },
    });
    await waitForView(engine, campaign.id, 'a device started', (view) => view.counts.started >= 1);
    const running = await callApi(engine, 'GET', `/campaigns/${campaign.id}`);
    expect(running.body.viewSource).toBe('workflow');
    // The definition comes back with the view.
    expect(running.body.rollout.maxConcurrent).toBe(2);
    expect(running.body.upgrade.retry.maxAttempts).toBe(FAST_UPGRADE.maxAttempts);
    await engine.worker.stop();

    // Without a worker the query fails, so the view is the stored summary, if the workflow wrote one yet.
    const away = await callApi(engine, 'GET', `/campaigns/${campaign.id}`);
    expect(away.status).toBe(200);
    expect(away.body.workflowStatus).toBe('RUNNING');
    expect(away.body.viewSource).toBe(away.body.view === null ? null : 'stored');

    const pause = await callApi(engine, 'POST', `/campaigns/${campaign.id}/pause`);
    expect(pause.status).toBe(503);
    expect(pause.body.error).toBe('service unavailable');
    expect(pause.body.message).toContain(`campaign ${campaign.id} did not confirm pause`);
    expect(pause.body.message).toContain('no worker is running');

    secondWorker = await startWorkerService({
      temporal: engine.temporal,
      mongo: engine.mongo,
      mqtt: engine.mqtt,
      logger: engine.logger.child({ service: 'worker' }),
      tuning: { shutdownGraceTime: '1s' },
    });
    // Temporal keeps an undelivered update in memory only, so the pause may arrive or be lost. A client
    // follows the 503's advice: it reads the campaign, and sends the pause again unless it took effect.
    const afterWorker = await waitFor('a view from the new worker', async () => {
      const response = await callApi(engine, 'GET', `/campaigns/${campaign.id}`);
      return response.body.viewSource === 'workflow' ? response.body : undefined;
    }, 60_000);
    if (afterWorker.view.state !== 'paused') {
      const again = await callApi(engine, 'POST', `/campaigns/${campaign.id}/pause`);
      // A pause that arrived in the meantime makes the second one a 409.
      expect([200, 409]).toContain(again.status);
    }
    const paused = await waitForView(engine, campaign.id, 'the pause applied', (view) => view.state === 'paused');
    expect(paused.state).toBe('paused');

    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/cancel`)).status).toBe(200);
    const ended = await waitForCampaignEnd(engine, campaign.id);
    expect(ended.state).toBe('cancelled');
  }, 240_000);
});

import type { Fleet } from '../../device-sim/fleet';
import { assignScenarios, parseScenarioMixText } from '../../device-sim/scenario-mix';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import {
  allOutcomes,
  campaignView,
  commandCounts,
  createCampaign,
  startFleet,
  uniqueProduct,
  waitForCampaignEnd,
  waitForRegistered,
  waitForView,
} from '../support/campaign-harness';
import { waitFor } from '../support/worker-harness';

// Rollout controls end to end: abort rule, pause and resume, cancel, retry of failed devices, and a
// scheduled start, each on its own product and fleet of simulated devices.

let engine: RunningEngine;
const fleets: Fleet[] = [];

beforeAll(async () => {
  engine = await startEngine('campaign-controls');
});

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  await engine?.stop();
});

async function fleetOf(options: Parameters<typeof startFleet>[1]): Promise<Fleet> {
  const fleet = await startFleet(engine, options);
  fleets.push(fleet);
  await waitForRegistered(engine, options.productName, options.count);
  return fleet;
}

describe('campaign controls', () => {
  it('aborts at the device where the failure rule trips', async () => {
    const productName = uniqueProduct('abort');
    const mix = 'success=12,download_error@20=8';
    await fleetOf({ productName, count: 20, mix });

    // With one device at a time the devices finish in name order, so the trip point follows from the mix.
    const scenarios = assignScenarios(parseScenarioMixText(mix), 20).map((sequence) => sequence[0]!.kind);
    let expectedFinished = 0;
    let failures = 0;
    for (const kind of scenarios) {
      expectedFinished += 1;
      if (kind !== 'success') failures += 1;
      if (expectedFinished >= 6 && (failures / expectedFinished) * 100 >= 40) break;
    }
    expect(expectedFinished).toBeLessThan(20);

    const campaign = await createCampaign(engine, {
      productName,
      target: { kind: 'all' },
      rollout: { maxConcurrent: 1, maxStartsPerMinute: 100_000, abort: { failurePercent: 40, minFinished: 6 } },
    });
    const view = await waitForCampaignEnd(engine, campaign.id);

    expect(view.state).toBe('aborted');
    expect(view.counts.started).toBe(expectedFinished);
    expect(view.counts.succeeded + view.counts.failed).toBe(expectedFinished);
    expect(view.counts.failed).toBe(failures);
    expect(view.notStarted).toBe(20 - expectedFinished);
    expect(view.abortReason).toContain(`${failures} of ${expectedFinished} finished devices failed or timed out`);

    // A retry round retries the failed devices only, and those the abort left unstarted stay so. The
    // devices fail again, so the round may abort too and leave some of its own devices unstarted.
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/retry-failed`)).status).toBe(200);
    const retried = await waitForCampaignEnd(engine, campaign.id);
    expect(retried.round).toBe(2);
    expect(retried.notStarted).toBeGreaterThanOrEqual(20 - expectedFinished);
    expect(retried.counts.started + retried.counts.skipped + retried.notStarted!).toBe(20);
  });

  it('holds the window while paused and continues on resume', async () => {
    const productName = uniqueProduct('pause');
    const fleet = await fleetOf({ productName, count: 12, timings: { stepIntervalMs: 200 } });
    const campaign = await createCampaign(engine, {
      productName,
      target: { kind: 'all' },
      rollout: { maxConcurrent: 3, maxStartsPerMinute: 100_000 },
    });
    await waitForView(engine, campaign.id, 'three devices started', (view) => view.counts.started >= 3);

    const paused = await callApi(engine, 'POST', `/campaigns/${campaign.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/pause`)).status).toBe(409);

    // Devices in flight finish, and nothing new starts while paused.
    const drained = await waitForView(engine, campaign.id, 'devices in flight to finish', (view) => view.inFlight === 0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stillPaused = (await campaignView(engine, campaign.id)).view;
    expect(stillPaused.state).toBe('paused');
    expect(stillPaused.counts.started).toBe(drained.counts.started);
    expect(stillPaused.counts.started).toBeLessThan(12);
    expect(fleet.devices.filter((device) => device.acceptedCommandCount > 0).length).toBe(stillPaused.counts.started);

    const resumed = await callApi(engine, 'POST', `/campaigns/${campaign.id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toBe('running');
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/resume`)).status).toBe(409);

    const view = await waitForCampaignEnd(engine, campaign.id);
    expect(view.state).toBe('completed');
    expect(view.counts.succeeded).toBe(12);
    expect([...commandCounts(fleet).values()].every((count) => count === 1)).toBe(true);
  });

  it('cancels devices in flight and starts no more', async () => {
    const productName = uniqueProduct('cancel');
    const fleet = await fleetOf({ productName, count: 10, mix: 'silent=10' });
    const campaign = await createCampaign(engine, {
      productName,
      target: { kind: 'all' },
      rollout: { maxConcurrent: 4, maxStartsPerMinute: 100_000 },
      upgrade: { stallTimeoutMs: 60_000 },
    });
    await waitForView(engine, campaign.id, 'four devices in flight', (view) => view.inFlight === 4);
    await waitFor('four devices to get their command', () => {
      const commanded = fleet.devices.filter((device) => device.acceptedCommandCount > 0).length;
      return commanded === 4 ? commanded : undefined;
    });

    const cancelled = await callApi(engine, 'POST', `/campaigns/${campaign.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');

    const view = await waitForCampaignEnd(engine, campaign.id);
    expect(view.state).toBe('cancelled');
    expect(view.counts).toMatchObject({ started: 4, cancelled: 4, succeeded: 0 });
    expect(view.notStarted).toBe(6);
    expect(await allOutcomes(engine, campaign.id, 'cancelled')).toHaveLength(4);
    expect(fleet.devices.filter((device) => device.acceptedCommandCount > 0)).toHaveLength(4);
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/cancel`)).status).toBe(409);
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/resume`)).status).toBe(409);
  });

  it('retries failed devices in a new round', async () => {
    const productName = uniqueProduct('retry');
    // Each device fails its first command and succeeds its second.
    const fleet = await fleetOf({ productName, count: 8, mix: 'download_error@20+success=6,success=2' });
    const campaign = await createCampaign(engine, { productName, target: { kind: 'all' }, rollout: { maxConcurrent: 4, maxStartsPerMinute: 100_000 } });
    const first = await waitForCampaignEnd(engine, campaign.id);
    expect(first.counts).toMatchObject({ succeeded: 2, failed: 6 });

    const retried = await callApi(engine, 'POST', `/campaigns/${campaign.id}/retry-failed`);
    expect(retried.status).toBe(200);
    expect(retried.body.round).toBe(2);
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/retry-failed`)).status).toBe(409);

    const second = await waitForCampaignEnd(engine, campaign.id);
    expect(second.state).toBe('completed');
    expect(second.round).toBe(2);
    expect(second.counts).toEqual({ total: 8, started: 8, succeeded: 8, failed: 0, timedOut: 0, skipped: 0, cancelled: 0 });
    const rows = await allOutcomes(engine, campaign.id);
    expect(rows).toHaveLength(8);
    expect(rows.filter((row) => row.round === 2)).toHaveLength(6);
    expect(rows.every((row) => row.outcome === 'succeeded')).toBe(true);

    // The failed devices got one command per round; the others only the first.
    const counts = [...commandCounts(fleet).values()].sort();
    expect(counts).toEqual([1, 1, 2, 2, 2, 2, 2, 2]);
    const none = await callApi(engine, 'POST', `/campaigns/${campaign.id}/retry-failed`);
    expect(none.status).toBe(409);
    expect(none.body.message).toMatch(/no failed or timed-out devices/);
  });

  it('waits for its start time', async () => {
    const productName = uniqueProduct('sched');
    const fleet = await fleetOf({ productName, count: 2 });
    const startAt = new Date(Date.now() + 3_000);
    const campaign = await createCampaign(engine, { productName, target: { kind: 'all' }, startAt: startAt.toISOString() });

    const scheduled = (await campaignView(engine, campaign.id)).view;
    expect(scheduled.state).toBe('scheduled');
    expect(fleet.devices.every((device) => device.acceptedCommandCount === 0)).toBe(true);
    expect((await callApi(engine, 'POST', `/campaigns/${campaign.id}/pause`)).status).toBe(409);

    const view = await waitForCampaignEnd(engine, campaign.id);
    expect(view.counts.succeeded).toBe(2);
    expect(view.startedAt).toBeGreaterThanOrEqual(startAt.getTime());
  });
});

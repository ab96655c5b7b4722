import type { Fleet } from '../../device-sim/fleet';
import { upgradeWorkflowId } from '../../protocol';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import {
  allOutcomes,
  campaignView,
  CAMPAIGN_FIRMWARE,
  commandCounts,
  createCampaign,
  FAST_UPGRADE,
  startFleet,
  uniqueProduct,
  waitForCampaignEnd,
  waitForRegistered,
} from '../support/campaign-harness';

// Campaigns end to end on the real servers: fleets of simulated devices on Mosquitto, the bridge, the
// worker and the API, FerretDB and the Temporal dev server.

let engine: RunningEngine;
const fleets: Fleet[] = [];

beforeAll(async () => {
  engine = await startEngine('campaign-outcomes');
});

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  await engine?.stop();
});

async function fleetOf(options: Parameters<typeof startFleet>[1]): Promise<Fleet> {
  const fleet = await startFleet(engine, options);
  fleets.push(fleet);
  return fleet;
}

describe('campaign outcomes', () => {
  it('upgrades a mixed fleet of 200 devices with exact counts', async () => {
    const productName = uniqueProduct('mix');
    // Weights add up to the device count, so each scenario gets exactly its weight in devices.
    const upgrading = await fleetOf({
      productName,
      count: 190,
      mix: 'success=140,download_error@40=20,md5_error=10,stall@60=10,reboot_old_version=10',
    });
    const installed = await fleetOf({ productName, count: 10, firstIndex: 191, firmwareVersion: '1.1' });
    await waitForRegistered(engine, productName, 200);

    const campaign = await createCampaign(engine, {
      productName,
      target: { kind: 'all' },
      rollout: { maxConcurrent: 40, maxStartsPerMinute: 100_000 },
    });
    const view = await waitForCampaignEnd(engine, campaign.id, 180_000);

    expect(view.state).toBe('completed');
    expect(view.counts).toEqual({ total: 200, started: 190, succeeded: 140, failed: 40, timedOut: 10, skipped: 10, cancelled: 0 });
    expect(view.percentDone).toBe(100);
    expect(view.notStarted).toBe(0);
    expect(view.inFlight).toBe(0);

    const rows = await allOutcomes(engine, campaign.id);
    expect(rows).toHaveLength(200);
    expect(new Set(rows.map((row) => row.deviceName)).size).toBe(200);
    const reasons = new Map<string, number>();
    for (const row of rows) reasons.set(`${row.outcome}:${row.reason}`, (reasons.get(`${row.outcome}:${row.reason}`) ?? 0) + 1);
    expect(Object.fromEntries(reasons)).toEqual({
      'succeeded:null': 140,
      'failed:download_error': 20,
      'failed:md5_error': 10,
      'failed:version_mismatch': 10,
      'timed_out:stall_timeout': 10,
      'skipped:already_installed': 10,
    });

    // No device got a second command, and none of those already on 1.1 got one at all.
    const counts = commandCounts(upgrading);
    expect([...counts.values()].filter((count) => count !== 1)).toEqual([]);
    expect([...commandCounts(installed).values()].every((count) => count === 0)).toBe(true);
    expect((await allOutcomes(engine, campaign.id, 'failed')).length).toBe(40);

    // The worker's own connection starts the upgrades eagerly: their first workflow task skipped the queue.
    const startedRows = rows.filter((row) => row.outcome !== 'skipped').slice(0, 10);
    for (const row of startedRows) {
      const history = await engine.client.workflow.getHandle(upgradeWorkflowId({ productName, deviceName: row.deviceName })).fetchHistory();
      expect({ deviceName: row.deviceName, eager: history.events?.[0]?.workflowExecutionStartedEventAttributes?.eagerExecutionAccepted }).toEqual({
        deviceName: row.deviceName,
        eager: true,
      });
    }
  });

  it('continues as new several times with a tiny page and window', async () => {
    const productName = uniqueProduct('can');
    const fleet = await fleetOf({ productName, count: 60, mix: 'success=54,download_error@20=6' });
    await waitForRegistered(engine, productName, 60);

    const campaign = await createCampaign(engine, {
      productName,
      target: { kind: 'all' },
      rollout: { maxConcurrent: 3, maxStartsPerMinute: 100_000 },
      tuning: { pageSize: 7, maxRunSignals: 10, outcomeFlushSize: 4 },
    });
    const view = await waitForCampaignEnd(engine, campaign.id, 180_000);

    expect(view.state).toBe('completed');
    expect(view.counts).toEqual({ total: 60, started: 60, succeeded: 54, failed: 6, timedOut: 0, skipped: 0, cancelled: 0 });
    expect(view.runNumber).toBeGreaterThanOrEqual(5);
    expect(view.duplicateReports).toBe(0);
    expect(await allOutcomes(engine, campaign.id)).toHaveLength(60);
    expect([...commandCounts(fleet).values()].filter((count) => count !== 1)).toEqual([]);

    // Every run but the last continued as new, as Temporal records them.
    const runs: string[] = [];
    for await (const execution of engine.client.workflow.list({ query: `WorkflowId = "${campaign.workflowId}"` })) runs.push(execution.status.name);
    expect(runs.filter((status) => status === 'CONTINUED_AS_NEW').length).toBe(view.runNumber - 1);
  });

  it('returns the existing campaign for a repeated id', async () => {
    const productName = uniqueProduct('idem');
    await fleetOf({ productName, count: 3 });
    await waitForRegistered(engine, productName, 3);
    const id = `idem-${productName}`;
    const body = { id, productName, target: { kind: 'all' }, firmware: CAMPAIGN_FIRMWARE, upgrade: FAST_UPGRADE };

    const first = await callApi(engine, 'POST', '/campaigns', body);
    const second = await callApi(engine, 'POST', '/campaigns', body);
    const changed = await callApi(engine, 'POST', '/campaigns', { ...body, rollout: { maxConcurrent: 1 } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(changed.status).toBe(200);
    expect(second.body.id).toBe(id);
    expect(second.body.createdAt).toBe(first.body.createdAt);

    await waitForCampaignEnd(engine, id);
    const runs: string[] = [];
    for await (const execution of engine.client.workflow.list({ query: `WorkflowId = "campaign:${id}"` })) runs.push(execution.runId);
    expect(runs).toHaveLength(1);
    expect((await campaignView(engine, id)).view.counts.succeeded).toBe(3);
  });

  it('targets a list of device names', async () => {
    const productName = uniqueProduct('list');
    const fleet = await fleetOf({ productName, count: 6 });
    await waitForRegistered(engine, productName, 6);
    const chosen = fleet.devices.slice(0, 3).map((device) => device.deviceName);

    const campaign = await createCampaign(engine, { productName, target: { kind: 'devices', deviceNames: chosen } });
    const view = await waitForCampaignEnd(engine, campaign.id);

    expect(view.counts.total).toBe(3);
    expect(view.counts.succeeded).toBe(3);
    expect((await allOutcomes(engine, campaign.id)).map((row) => row.deviceName).sort()).toEqual([...chosen].sort());
    expect(fleet.devices.slice(3).every((device) => device.acceptedCommandCount === 0)).toBe(true);
  });

  it('targets devices by a filter on reported status', async () => {
    const productName = uniqueProduct('filter');
    await fleetOf({ productName, count: 4 });
    const upToDate = await fleetOf({ productName, count: 2, firstIndex: 5, firmwareVersion: '1.1' });
    await waitForRegistered(engine, productName, 6);

    const campaign = await createCampaign(engine, {
      productName,
      target: { kind: 'filter', where: [{ field: 'firmware_ver', op: 'ne', value: '1.1' }] },
    });
    const view = await waitForCampaignEnd(engine, campaign.id);

    expect(view.counts).toEqual({ total: 4, started: 4, succeeded: 4, failed: 0, timedOut: 0, skipped: 0, cancelled: 0 });
    expect(upToDate.devices.every((device) => device.acceptedCommandCount === 0)).toBe(true);
  });

  it('skips a device whose upgrade runs elsewhere', async () => {
    const productName = uniqueProduct('busy');
    const fleet = await fleetOf({ productName, count: 3, mix: 'stall@20=3' });
    await waitForRegistered(engine, productName, 3);
    const busy = fleet.devices[0]!;
    const single = await callApi(engine, 'POST', `/ota/${productName}/${busy.deviceName}`, { ...CAMPAIGN_FIRMWARE, options: { stallTimeoutMs: 20_000 } });
    expect(single.status).toBe(200);

    const campaign = await createCampaign(engine, { productName, target: { kind: 'all' } });
    const view = await waitForCampaignEnd(engine, campaign.id);

    expect(view.counts.skipped).toBe(1);
    expect(view.counts.timedOut).toBe(2);
    const rows = await allOutcomes(engine, campaign.id, 'skipped');
    expect(rows.map((row) => [row.deviceName, row.reason])).toEqual([[busy.deviceName, 'upgrade_running']]);
    expect(busy.acceptedCommandCount).toBe(1);
    await engine.client.workflow.getHandle(single.body.workflowId).terminate('test done');
  });

  it('rejects invalid campaigns naming each field', async () => {
    const response = await callApi(engine, 'POST', '/campaigns', {
      id: 'bad/id',
      productName: 'p+',
      target: { kind: 'some' },
      firmware: { ...CAMPAIGN_FIRMWARE, md5: 'xyz' },
      rollout: { maxConcurrent: 0, firstWave: { count: 2, percent: 10, minSuccessPercent: 90 } },
      startAt: 'tomorrow',
      extra: true,
    });
    expect(response.status).toBe(400);
    const fields = new Set((response.body.fields as { field: string }[]).map((problem) => problem.field));
    for (const field of ['id', 'productName', 'target.kind', 'firmware.md5', 'rollout.maxConcurrent', 'rollout.firstWave', 'startAt', 'extra']) {
      expect({ field, named: fields.has(field) }).toEqual({ field, named: true });
    }
    expect((await callApi(engine, 'GET', '/campaigns/bad-id-unknown')).status).toBe(404);
  });

  it('lists campaigns newest first with paging', async () => {
    const first = await callApi(engine, 'GET', '/campaigns?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.campaigns).toHaveLength(2);
    const [newer, older] = first.body.campaigns as { createdAt: string }[];
    expect(Date.parse(newer!.createdAt)).toBeGreaterThanOrEqual(Date.parse(older!.createdAt));
    expect(first.body.next).toEqual(expect.any(String));

    const second = await callApi(engine, 'GET', `/campaigns?limit=2&before=${first.body.next}`);
    expect(second.status).toBe(200);
    const firstIds = new Set((first.body.campaigns as { id: string }[]).map((campaign) => campaign.id));
    expect((second.body.campaigns as { id: string }[]).some((campaign) => firstIds.has(campaign.id))).toBe(false);
    expect((await callApi(engine, 'GET', '/campaigns?before=garbage')).status).toBe(400);
  });
});

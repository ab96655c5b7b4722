// Records histories of campaign workflows, and of device upgrades started by a campaign, for the replay
// test. Run it after a deliberate change of workflow behaviour: `npm run record-histories`. It starts
// its own Temporal dev server, FerretDB and Mosquitto, the engine in this process, and a small fleet.
// Histories recorded by earlier versions of the workflows stay in histories/ under a version prefix
// (v1-...), so the replay test keeps proving that runs started before a change still replay.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startFerretdbServer } from '../../dev-stack/servers/ferretdb';
import { startMosquittoServer } from '../../dev-stack/servers/mosquitto';
import { startTemporalServer } from '../../dev-stack/servers/temporal';
import type { Fleet } from '../../device-sim/fleet';
import { createCampaign, startFleet, waitForCampaignEnd, waitForRegistered, waitForView } from '../support/campaign-harness';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';

const HISTORIES_DIR = path.join(__dirname, 'histories');

async function saveRuns(engine: RunningEngine, workflowId: string, name: string): Promise<void> {
  let index = 0;
  for await (const execution of engine.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    index += 1;
    const history = await engine.client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
    const file = path.join(HISTORIES_DIR, `${name}-run${index}.json`);
    writeFileSync(file, `${historyToJSON(history)}\n`);
    console.log(`recorded ${history.events?.length ?? 0} events (${execution.status.name}) to ${path.relative(process.cwd(), file)}`);
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ota-record-campaign-'));
  const [temporal, ferretdb, mosquitto] = await Promise.all([
    startTemporalServer({ dataDir: path.join(dataDir, 'temporal') }),
    startFerretdbServer({ dataDir: path.join(dataDir, 'ferretdb') }),
    startMosquittoServer({ dataDir: path.join(dataDir, 'mosquitto') }),
  ]);
  process.env.TEMPORAL_ADDRESS = temporal.address;
  process.env.MONGO_URL = ferretdb.url;
  process.env.MQTT_URL = mosquitto.url;
  const engine = await startEngine('record');
  const fleets: Fleet[] = [];
  try {
    // A campaign that continues as new several times, with a failure, a skip and a first wave.
    fleets.push(await startFleet(engine, { productName: 'replaya', count: 12, mix: 'success=10,download_error@20=2' }));
    fleets.push(await startFleet(engine, { productName: 'replaya', count: 1, firstIndex: 13, firmwareVersion: '1.1' }));
    await waitForRegistered(engine, 'replaya', 13);
    const rolled = await createCampaign(engine, {
      id: 'replay-rollout',
      productName: 'replaya',
      target: { kind: 'all' },
      rollout: { maxConcurrent: 3, maxStartsPerMinute: 100_000, firstWave: { count: 2, minSuccessPercent: 50 } },
      tuning: { pageSize: 4, maxRunSignals: 10, outcomeFlushSize: 3 },
    });
    await waitForCampaignEnd(engine, rolled.id);
    await saveRuns(engine, rolled.workflowId, 'campaign-rollout');
    await saveRuns(engine, 'upgrade:replaya:dev-00001', 'campaign-device-succeeded');

    // A campaign paused, resumed and then cancelled with devices in flight.
    fleets.push(await startFleet(engine, { productName: 'replayb', count: 6, mix: 'silent=6' }));
    await waitForRegistered(engine, 'replayb', 6);
    const cancelled = await createCampaign(engine, {
      id: 'replay-controls',
      productName: 'replayb',
      target: { kind: 'all' },
      rollout: { maxConcurrent: 2, maxStartsPerMinute: 100_000 },
      upgrade: { stallTimeoutMs: 60_000 },
    });
    await waitForView(engine, cancelled.id, 'two devices in flight', (view) => view.inFlight === 2);
    await callApi(engine, 'POST', `/campaigns/${cancelled.id}/pause`);
    await callApi(engine, 'POST', `/campaigns/${cancelled.id}/resume`);
    await callApi(engine, 'POST', `/campaigns/${cancelled.id}/cancel`);
    await waitForCampaignEnd(engine, cancelled.id);
    await saveRuns(engine, cancelled.workflowId, 'campaign-controls');
    await saveRuns(engine, 'upgrade:replayb:dev-00001', 'campaign-device-cancelled');
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.close()));
    await engine.stop();
    await Promise.all([temporal.stop(), ferretdb.stop(), mosquitto.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { Client, Connection } from '@temporalio/client';
import { findFreePort } from '../../dev-stack/ports';
import { checkCampaignIntegrity, devicesNotSucceeded, runCampaignUnderFault, startFaultServers, stopFaultServers, type FaultServers } from '../support/fault-harness';
import type { ProcessEngine } from '../support/process-engine';

// Scale-out on one machine: two bridge processes sharing the reports through an MQTT shared subscription,
// and two worker processes on one task queue, each time with one of the two killed mid-campaign.

const DEVICES = 300;
let servers: FaultServers | undefined;

afterEach(async () => {
  await stopFaultServers(servers);
  servers = undefined;
});

/** Reads a counter from a bridge's /metrics, summing over its labels; undefined when the bridge does not answer. */
async function receivedReports(port: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('ota_bridge_reports_received_total'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  } catch {
    return undefined;
  }
}

/** Reports a bridge process handled, from the counts each of its connections logs when it stops. */
function handledAtStop(engine: ProcessEngine, name: string): number {
  return engine
    .logLines(name)
    .filter((line) => line.msg === 'bridge stopped')
    .reduce((sum, line) => {
      const counts = line.counts as Record<string, number>;
      return sum + Object.entries(counts).reduce((handled, [outcome, count]) => (outcome === 'retried_errors' ? handled : handled + count), 0);
    }, 0);
}

/** Message ids signalled more than once to any upgrade of the product, read from the workflows' histories. */
async function duplicateSignals(temporalAddress: string, productName: string): Promise<string[]> {
  const seen = new Set<string>();
  const repeated: string[] = [];
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  try {
    for await (const execution of client.workflow.list({ query: `OtaProduct = "${productName}" AND WorkflowType = "upgradeDevice"` })) {
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      for (const event of history.events ?? []) {
        const payload = event.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0]?.data;
        if (!payload) continue;
        const messageId = (JSON.parse(Buffer.from(payload).toString('utf8')) as { messageId?: string }).messageId;
        if (messageId === undefined) continue;
        if (seen.has(messageId)) repeated.push(messageId);
        seen.add(messageId);
      }
    }
  } finally {
    await connection.close();
  }
  return repeated;
}

describe('scale-out', () => {
  it('shares reports between two bridges and moves them to one when the other dies', async () => {
    servers = await startFaultServers('two-bridges');
    const ports = { a: await findFreePort(), b: await findFreePort() };
    const counts: { a?: number; b?: number; bAtKill?: number } = {};
    const result = await runCampaignUnderFault({
      servers,
      label: 'two-bridges',
      devices: DEVICES,
      faultAtPercentDone: 40,
      // Clean sessions, so that the broker stops handing a dead bridge its share of the reports.
      engineEnv: { BRIDGE_SESSION: 'clean', BRIDGE_CONNECTIONS: '2', BRIDGE_SHARE_GROUP: 'ota-bridges' },
      startEngine: async (engine) => {
        await engine.start('worker');
        await engine.start('bridge', 'bridge-a', { BRIDGE_METRICS_PORT: String(ports.a), MQTT_CLIENT_ID_PREFIX: 'two-bridges-a' });
        await engine.start('bridge', 'bridge-b', { BRIDGE_METRICS_PORT: String(ports.b), MQTT_CLIENT_ID_PREFIX: 'two-bridges-b' });
        await engine.start('api');
      },
      fault: async ({ engine }) => {
        counts.a = await receivedReports(ports.a);
        counts.bAtKill = await receivedReports(ports.b);
        await engine.process('bridge-a').kill();
      },
    });
    // The bridge has stopped with the rest of the engine by now; it logged what each connection handled.
    counts.b = handledAtStop(result.engine, 'bridge-b');

    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
    // Both bridges took a share while both ran, and the survivor went on alone afterwards.
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.bAtKill).toBeGreaterThan(0);
    expect(counts.b! - counts.bAtKill!).toBeGreaterThan(0);
    // No report reached a workflow twice, through either bridge, and together they received no more
    // reports than the devices published.
    expect(await duplicateSignals(servers.temporal.address, 'faulty')).toEqual([]);
    expect(counts.a! + counts.b!).toBeLessThanOrEqual(result.reportsPublished);
  }, 600_000);

  it('completes when one of two workers dies', async () => {
    servers = await startFaultServers('two-workers');
    const result = await runCampaignUnderFault({
      servers,
      label: 'two-workers',
      devices: DEVICES,
      faultAtPercentDone: 40,
      startEngine: async (engine) => {
        await engine.start('worker', 'worker-a');
        await engine.start('worker', 'worker-b', { MQTT_CLIENT_ID_PREFIX: 'two-workers-b' });
        await engine.start('bridge');
        await engine.start('api');
      },
      fault: async ({ engine }) => {
        await engine.process('worker-a').kill();
      },
    });

    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
    // Both workers published commands before one of them died.
    const published = (name: string) => result.engine.logLines(name).filter((line) => line.msg === 'published $ota_upgrade').length;
    expect(published('worker-a')).toBeGreaterThan(0);
    expect(published('worker-b')).toBeGreaterThan(0);
  }, 600_000);
});

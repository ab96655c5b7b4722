import { checkCampaignIntegrity, devicesNotSucceeded, runCampaignUnderFault, startFaultServers, stopFaultServers, type FaultServers } from '../support/fault-harness';

// Campaigns of 300 simulated devices on the engine's own processes, each killed with SIGKILL mid-campaign
// and started again. Each test has servers of its own, so the faults disturb no other test.

const DEVICES = 300;
let servers: FaultServers | undefined;

afterEach(async () => {
  await stopFaultServers(servers);
  servers = undefined;
});

describe('engine process faults', () => {
  it('completes after the worker is killed and restarted', async () => {
    servers = await startFaultServers('worker-kill');
    const result = await runCampaignUnderFault({
      servers,
      label: 'worker-kill',
      devices: DEVICES,
      faultAtPercentDone: 30,
      fault: async ({ engine }) => {
        await engine.process('worker').kill();
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await engine.start('worker');
      },
    });
    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
  }, 600_000);

  it('completes after the bridge is killed and restarted', async () => {
    servers = await startFaultServers('bridge-kill');
    const result = await runCampaignUnderFault({
      servers,
      label: 'bridge-kill',
      devices: DEVICES,
      faultAtPercentDone: 30,
      fault: async ({ engine }) => {
        await engine.process('bridge').kill();
        // Reports published meanwhile wait in the bridge's persistent sessions on the broker.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        await engine.start('bridge');
      },
    });
    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
  }, 600_000);
});

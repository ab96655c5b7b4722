import { waitFor } from '../support/worker-harness';
import { checkCampaignIntegrity, devicesNotSucceeded, runCampaignUnderFault, startFaultServers, stopFaultServers, type FaultServers } from '../support/fault-harness';

// Campaigns of 300 simulated devices while one of the servers restarts, and while devices lose their
// connection mid-download. Each test has servers of its own, so the faults disturb no other test.

const DEVICES = 300;
let servers: FaultServers | undefined;

afterEach(async () => {
  await stopFaultServers(servers);
  servers = undefined;
});

async function restartAfter(pauseMs: number, restart: () => Promise<void>, stop: () => Promise<void>): Promise<void> {
  await stop();
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  await restart();
}

describe('server faults', () => {
  it('completes across a restart of Mosquitto with persistence', async () => {
    servers = await startFaultServers('mosquitto-restart');
    const broker = servers.mosquitto;
    const result = await runCampaignUnderFault({
      servers,
      label: 'mosquitto-restart',
      devices: DEVICES,
      faultAtPercentDone: 30,
      fault: () => restartAfter(3_000, () => broker.restart(), () => broker.stop()),
    });
    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
  }, 600_000);

  it('completes across a restart of the Temporal server on its database', async () => {
    servers = await startFaultServers('temporal-restart');
    const temporal = servers.temporal;
    const result = await runCampaignUnderFault({
      servers,
      label: 'temporal-restart',
      devices: DEVICES,
      faultAtPercentDone: 30,
      fault: () => restartAfter(3_000, () => temporal.restart(), () => temporal.stop()),
    });
    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
  }, 600_000);

  it('completes across a restart of FerretDB', async () => {
    servers = await startFaultServers('ferretdb-restart');
    const ferretdb = servers.ferretdb;
    const result = await runCampaignUnderFault({
      servers,
      label: 'ferretdb-restart',
      devices: DEVICES,
      faultAtPercentDone: 30,
      fault: () => restartAfter(3_000, () => ferretdb.restart(), () => ferretdb.stop()),
    });
    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
  }, 600_000);

  it('completes when devices lose their connection mid-download', async () => {
    servers = await startFaultServers('device-cut');
    let cut: string[] = [];
    const result = await runCampaignUnderFault({
      servers,
      label: 'device-cut',
      devices: DEVICES,
      faultAtPercentDone: 20,
      fault: async ({ fleet }) => {
        // Devices downloading right now lose their connection for five seconds; their reports wait.
        const downloading = await waitFor('devices mid-download', () => {
          const running = fleet.devices.filter((device) => device.isRunning).slice(0, 10);
          return running.length >= 5 ? running : undefined;
        }, 60_000);
        cut = downloading.map((device) => device.deviceName);
        await Promise.all(downloading.map((device) => device.disconnect()));
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        await Promise.all(downloading.map((device) => device.reconnect()));
      },
    });
    expect(checkCampaignIntegrity(result, DEVICES)).toEqual([]);
    expect(devicesNotSucceeded(result)).toEqual([]);
    expect(result.view.counts.succeeded).toBe(DEVICES);
    for (const deviceName of cut) expect({ deviceName, outcome: result.records.get(deviceName)?.outcome }).toEqual({ deviceName, outcome: 'succeeded' });
  }, 600_000);
});

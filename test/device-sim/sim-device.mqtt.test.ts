import pino from 'pino';
import { Fleet } from '../../device-sim/fleet';
import { parseScenarioMixText } from '../../device-sim/scenario-mix';
import { SimDevice, type SimDeviceOptions } from '../../device-sim/sim-device';
import { BridgeProbe, BROKER_URL, describeWithBroker, TEST_FIRMWARE, uniqueProductName } from './bridge-probe';

const FAST = { stepIntervalMs: 30, steps: 5, installDelayMs: 60 };
const FULL_DOWNLOAD = ['1.1:0', '1.1:20', '1.1:40', '1.1:60', '1.1:80', '1.1:100'];
const silentLogger = pino({ level: 'silent' });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithBroker('SimDevice on a real broker', () => {
  const productName = uniqueProductName('simdev');
  const probe = new BridgeProbe(BROKER_URL!, productName);
  const devices: SimDevice[] = [];
  let deviceCounter = 0;

  async function startDevice(options: Partial<SimDeviceOptions> = {}): Promise<SimDevice> {
    deviceCounter += 1;
    const device = new SimDevice({
      productName,
      deviceName: `dev-${String(deviceCounter).padStart(5, '0')}`,
      mqttUrl: BROKER_URL,
      timings: FAST,
      logger: silentLogger,
      ...options,
    });
    devices.push(device);
    await device.start();
    await probe.waitForReports(device.deviceName, (reports) => reports.length >= 1);
    return device;
  }

  beforeAll(async () => {
    await probe.open();
  });

  afterAll(async () => {
    await Promise.all(devices.map((device) => device.close()));
    await probe.close();
  });

  it('reports firmware_ver when it connects', async () => {
    const device = await startDevice({ firmwareVersion: '0.9' });
    expect(probe.sequenceOf(device.deviceName)).toEqual(['ver=0.9']);
    expect(device.online).toBe(true);
    expect(device.reportsPublished[0]?.requestId).toBeUndefined();
  });

  describe('report sequence on the wire', () => {
    it.each([
      ['success', [...FULL_DOWNLOAD, 'ver=1.1'], '1.1'],
      ['stall@60', ['1.1:0', '1.1:20', '1.1:40', '1.1:60'], '1.0'],
      ['download_error@40', ['1.1:0', '1.1:20', '1.1:-1'], '1.0'],
      ['md5_error', [...FULL_DOWNLOAD, '1.1:-2'], '1.0'],
      ['install_error', [...FULL_DOWNLOAD, '1.1:-3'], '1.0'],
      ['other_error@20', ['1.1:0', '1.1:-4'], '1.0'],
      ['reboot_old_version', [...FULL_DOWNLOAD, 'ver=1.0'], '1.0'],
      ['duplicates', [...FULL_DOWNLOAD.flatMap((entry) => [entry, entry]), 'ver=1.1', 'ver=1.1'], '1.1'],
      ['out_of_order', ['1.1:20', '1.1:0', '1.1:60', '1.1:40', '1.1:100', '1.1:80', 'ver=1.1'], '1.1'],
      ['stale_reports', [...FULL_DOWNLOAD.flatMap((entry) => [entry, entry.replace('1.1:', '1.0:')]), 'ver=1.1'], '1.1'],
    ])('%s', async (scenario, expected, finalVersion) => {
      const device = await startDevice({ scenarios: scenario });
      const requestId = await probe.sendOtaUpgrade(device.deviceName);

      const result = await device.waitForRunEnd(requestId, { timeoutMs: 5000 });
      expect(result.result).toBe('finished');
      expect(result.requestId).toBe(requestId);
      // Every report the device published must have reached the probe: same count, nothing later.
      await probe.waitForReports(device.deviceName, (reports) => reports.length === expected.length + 1);
      await sleep(100);
      expect(probe.sequenceOf(device.deviceName)).toEqual(['ver=1.0', ...expected]);
      expect(device.currentVersion).toBe(finalVersion);
    });

    it('duplicates share one messageId per pair', async () => {
      const device = await startDevice({ scenarios: 'duplicates' });
      await device.waitForRunEnd(await probe.sendOtaUpgrade(device.deviceName), { timeoutMs: 5000 });
      await probe.waitForReports(device.deviceName, (reports) => reports.length === 15);

      const runReports = probe.reportsOf(device.deviceName).slice(1);
      for (let index = 0; index < runReports.length; index += 2) {
        expect(runReports[index]?.messageId).toBe(runReports[index + 1]?.messageId);
      }
      expect(new Set(runReports.map((report) => report.messageId)).size).toBe(7);
    });

    it('silent never reports', async () => {
      const device = await startDevice({ scenarios: 'silent' });
      const requestId = await probe.sendOtaUpgrade(device.deviceName);
      const record = await device.waitForCommand({ requestId });
      expect(record.outcome).toBe('accepted');
      await sleep(300);
      expect(probe.sequenceOf(device.deviceName)).toEqual(['ver=1.0']);
    });

    it('stall stops reporting', async () => {
      const device = await startDevice({ scenarios: 'stall@20' });
      await device.waitForRunEnd(await probe.sendOtaUpgrade(device.deviceName), { timeoutMs: 5000 });
      await sleep(400);
      expect(probe.sequenceOf(device.deviceName)).toEqual(['ver=1.0', '1.1:0', '1.1:20']);
    });

    it('progress reports carry type and description', async () => {
      const device = await startDevice({ scenarios: 'download_error@20' });
      await device.waitForRunEnd(await probe.sendOtaUpgrade(device.deviceName), { timeoutMs: 5000 });
      const reports = await probe.waitForReports(device.deviceName, (received) => received.length === 3);
      expect(reports[1]?.body).toEqual({ version: '1.1', type: 'firmware', progress: 0, desc: 'downloading' });
      expect(reports[2]?.body).toEqual({ version: '1.1', type: 'firmware', progress: -1, desc: 'download failed at 20%' });
      expect(reports[2]?.messageId).toMatch(/^[0-9a-f]{24}$/);
    });
  });

  describe('ignored commands', () => {
    it('ignores an expired command', async () => {
      const device = await startDevice();
      const requestId = await probe.sendOtaUpgrade(device.deviceName, { expiresAt: Date.now() - 1000 });
      const record = await device.waitForCommand({ requestId });
      expect(record.outcome).toBe('expired');
      expect(device.ignoredCommandCount).toBe(1);
      expect(device.acceptedCommandCount).toBe(0);
      await sleep(200);
      expect(probe.sequenceOf(device.deviceName)).toEqual(['ver=1.0']);
    });

    it('ignores a redelivered request id', async () => {
      const device = await startDevice();
      const requestId = await probe.sendOtaUpgrade(device.deviceName);
      await device.waitForRunEnd(requestId, { timeoutMs: 5000 });
      await probe.sendOtaUpgrade(device.deviceName, { requestId });

      const duplicate = await device.waitForCommand({ requestId, outcome: 'duplicate' });
      expect(duplicate.reason).toMatch(/already received/);
      expect(device.acceptedCommandCount).toBe(1);
      expect(device.runs).toHaveLength(1);
    });

    it('ignores an invalid payload', async () => {
      const device = await startDevice();
      const requestId = await probe.sendOtaUpgrade(device.deviceName, { payload: { ...TEST_FIRMWARE, size: -5 } });
      const record = await device.waitForCommand({ requestId });
      expect(record.outcome).toBe('invalid');
      expect(record.reason).toMatch(/size must be greater than 0/);
      expect(device.isRunning).toBe(false);
    });

    it('ignores an unsupported command', async () => {
      const device = await startDevice();
      const requestId = await probe.sendOtaUpgrade(device.deviceName, { commandName: 'reboot' });
      expect((await device.waitForCommand({ requestId })).outcome).toBe('unsupported');
    });

    it('accepts a base64 command', async () => {
      const device = await startDevice();
      const requestId = await probe.sendOtaUpgrade(device.deviceName, { encoding: 'base64' });
      expect((await device.waitForRunEnd(requestId, { timeoutMs: 5000 })).result).toBe('finished');
      expect(device.currentVersion).toBe('1.1');
    });
  });

  describe('attempts', () => {
    it('runs the next scenario for the next command', async () => {
      const device = await startDevice({ scenarios: 'download_error@40+success' });
      const first = await probe.sendOtaUpgrade(device.deviceName);
      await device.waitForRunEnd(first, { timeoutMs: 5000 });
      const second = await probe.sendOtaUpgrade(device.deviceName);
      await device.waitForRunEnd(second, { timeoutMs: 5000 });

      await probe.waitForReports(device.deviceName, (reports) => reports.length === 11);
      expect(probe.sequenceOf(device.deviceName)).toEqual(['ver=1.0', '1.1:0', '1.1:20', '1.1:-1', ...FULL_DOWNLOAD, 'ver=1.1']);
      expect(device.runs.map((run) => [run.attempt, run.scenario.kind])).toEqual([
        [1, 'download_error'],
        [2, 'success'],
      ]);
    });

    it('aborts a run when a newer command arrives', async () => {
      const device = await startDevice({ timings: { stepIntervalMs: 200, steps: 5, installDelayMs: 60 } });
      const first = await probe.sendOtaUpgrade(device.deviceName);
      await device.waitForReport((report) => report.requestId === first && report.body.progress === 20, { timeoutMs: 5000 });
      const second = await probe.sendOtaUpgrade(device.deviceName);

      expect((await device.waitForRunEnd(first, { timeoutMs: 5000 })).result).toBe('aborted');
      expect((await device.waitForRunEnd(second, { timeoutMs: 5000 })).result).toBe('finished');
      expect(device.currentVersion).toBe('1.1');
    });
  });

  describe('connection loss', () => {
    it('receives a command sent while offline', async () => {
      const device = await startDevice();
      await device.disconnect();
      expect(device.online).toBe(false);
      const requestId = await probe.sendOtaUpgrade(device.deviceName);
      await sleep(200);
      expect(device.commandsReceived).toHaveLength(0);

      await device.reconnect();
      expect((await device.waitForRunEnd(requestId, { timeoutMs: 5000 })).result).toBe('finished');
      expect(device.commandsReceived[0]?.requestId).toBe(requestId);
    });

    it('sends reports held during a cut after reconnecting', async () => {
      const device = await startDevice({ timings: { stepIntervalMs: 80, steps: 5, installDelayMs: 60 } });
      const requestId = await probe.sendOtaUpgrade(device.deviceName);
      await device.waitForReport((report) => report.body.progress === 20, { timeoutMs: 5000 });
      await device.disconnect();
      const seenWhileOffline = probe.reportsOf(device.deviceName).length;
      await sleep(300);
      expect(probe.reportsOf(device.deviceName).length).toBe(seenWhileOffline);

      const reconnectedAt = Date.now();
      await device.reconnect();
      await device.waitForRunEnd(requestId, { timeoutMs: 5000 });
      await probe.waitForReports(device.deviceName, (reports) => reports.some((report) => report.body.firmware_ver === '1.1'));
      const progressReports = probe.reportsOf(device.deviceName).filter((report) => report.kind === 'update_ota_status');
      expect(progressReports.map((report) => report.body.progress)).toEqual([0, 20, 40, 60, 80, 100]);
      // The reports issued during the 300 ms cut reached the broker only after the reconnection.
      expect(progressReports.filter((report) => report.receivedAt >= reconnectedAt).length).toBeGreaterThanOrEqual(2);
    });
  });
});

describeWithBroker('Fleet with shared connections', () => {
  it.each([
    [1, 'one wildcard connection'],
    [2, 'two connections with device filters'],
  ])('%i shared connection(s): %s', async (sharedConnections) => {
    const productName = uniqueProductName('fleet');
    const probe = new BridgeProbe(BROKER_URL!, productName);
    await probe.open();
    const fleet = new Fleet({
      productName,
      count: 4,
      mix: parseScenarioMixText('success=1,download_error@20=1'),
      timings: FAST,
      endpoint: { url: BROKER_URL! },
      sharedConnections,
      logger: silentLogger,
    });
    try {
      await fleet.start();
      expect(fleet.devices.map((device) => device.deviceName)).toEqual(['dev-00001', 'dev-00002', 'dev-00003', 'dev-00004']);
      for (const device of fleet.devices) await probe.waitForReports(device.deviceName, (reports) => reports.length === 1);

      const requests = await Promise.all(fleet.devices.map((device) => probe.sendOtaUpgrade(device.deviceName)));
      await Promise.all(fleet.devices.map((device, index) => device.waitForRunEnd(requests[index], { timeoutMs: 5000 })));
      expect(fleet.devices.map((device) => device.currentVersion)).toEqual(['1.1', '1.0', '1.1', '1.0']);
      await probe.waitForReports('dev-00002', (reports) => reports.length === 3);
      expect(probe.sequenceOf('dev-00002')).toEqual(['ver=1.0', '1.1:0', '1.1:-1']);

      await probe.sendOtaUpgrade('dev-09999');
      await sleep(200);
      expect(fleet.unroutedMessages()).toBe(sharedConnections === 1 ? 1 : 0);
      expect(fleet.summary()).toMatchObject({ devices: 4, online: 4, commandsAccepted: 4, runsFinished: 4, versions: { '1.0': 2, '1.1': 2 } });
    } finally {
      await fleet.close();
      await probe.close();
    }
  });

  it('holds commands for a device that is offline on a shared connection', async () => {
    const productName = uniqueProductName('fleet');
    const probe = new BridgeProbe(BROKER_URL!, productName);
    await probe.open();
    const fleet = new Fleet({ productName, count: 2, timings: FAST, endpoint: { url: BROKER_URL! }, sharedConnections: 1, logger: silentLogger });
    try {
      await fleet.start();
      const [offline, online] = fleet.devices as [SimDevice, SimDevice];
      await offline.disconnect();
      const heldRequest = await probe.sendOtaUpgrade(offline.deviceName);
      const liveRequest = await probe.sendOtaUpgrade(online.deviceName);
      await online.waitForRunEnd(liveRequest, { timeoutMs: 5000 });
      expect(offline.commandsReceived).toHaveLength(0);

      await offline.reconnect();
      expect((await offline.waitForRunEnd(heldRequest, { timeoutMs: 5000 })).result).toBe('finished');
      expect(offline.currentVersion).toBe('1.1');
    } finally {
      await fleet.close();
      await probe.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { ObjectId } from 'bson';
import mqtt, { type MqttClient } from 'mqtt';
import { SimDevice, type ScenarioOption } from '../../device-sim/sim-device';
import { upgradeWorkflowId } from '../../protocol';
import type { UpgradeState } from '../../workflows/upgrade-tracker';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import { waitFor } from '../support/worker-harness';

// End to end on the real servers: simulated devices on Mosquitto, the bridge, the worker and the API,
// FerretDB and the Temporal dev server. Each case upgrades its own device from 1.0 to 1.1.

const PRODUCT = `e2e${randomUUID().slice(0, 6)}`;
const FAST_TIMINGS = { stepIntervalMs: 100, steps: 5, installDelayMs: 200 };
const FIRMWARE = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'c4ca4238a0b923820dcc509a6f75849b',
};

let engine: RunningEngine;
let probe: MqttClient;
const devices: SimDevice[] = [];
let deviceCounter = 0;

beforeAll(async () => {
  // The cases below compare the bridge's counts before and after a report, so its bridge takes only this
  // file's product: reports of test files running at the same time would add to the counts.
  engine = await startEngine('single', { productNames: [PRODUCT] });
  probe = await mqtt.connectAsync(process.env.MQTT_URL!, { clientId: `probe-${PRODUCT}` });
});

afterAll(async () => {
  await Promise.all(devices.map((device) => device.close()));
  await probe?.endAsync();
  await engine?.stop();
});

async function startDevice(scenarios: ScenarioOption = 'success'): Promise<SimDevice> {
  deviceCounter += 1;
  const device = new SimDevice({
    productName: PRODUCT,
    deviceName: `dev-${deviceCounter}`,
    firmwareVersion: '1.0',
    scenarios,
    timings: FAST_TIMINGS,
    mqttUrl: process.env.MQTT_URL,
  });
  devices.push(device);
  await device.start();
  // The registry holds the device once the bridge stored its connect report.
  await waitFor('the device in the registry', async () => {
    const response = await callApi(engine, 'GET', `/devices/${PRODUCT}/${device.deviceName}`);
    return response.status === 200 ? response : undefined;
  });
  return device;
}

async function requestUpgrade(device: SimDevice, options: Record<string, unknown> = {}) {
  return callApi(engine, 'POST', `/ota/${PRODUCT}/${device.deviceName}`, { ...FIRMWARE, options: { stallTimeoutMs: 2_000, verifyTimeoutMs: 2_000, ...options } });
}

/** Waits until the device's latest upgrade is terminal and returns its state from GET /ota. */
async function finalState(device: SimDevice): Promise<{ body: any; state: UpgradeState }> {
  return waitFor(
    `a terminal upgrade of ${device.deviceName}`,
    async () => {
      const response = await callApi(engine, 'GET', `/ota/${PRODUCT}/${device.deviceName}`);
      const state = response.body?.upgrade?.state as UpgradeState | null | undefined;
      // The phase turns terminal a moment before the workflow closes, so wait for both.
      const closed = response.body?.upgrade?.status !== 'RUNNING';
      return state && closed && ['succeeded', 'failed', 'cancelled', 'skipped'].includes(state.phase) ? { body: response.body, state } : undefined;
    },
    30_000,
  );
}

describe('single device upgrade end to end', () => {
  it('upgrades a device from 1.0 to 1.1', async () => {
    const device = await startDevice('success');
    const before = await callApi(engine, 'GET', `/devices/${PRODUCT}/${device.deviceName}`);
    expect(before.body.device_status.firmware_ver).toBe('1.0');

    const started = await requestUpgrade(device);
    expect(started.status).toBe(200);
    expect(started.body.workflowId).toBe(upgradeWorkflowId({ productName: PRODUCT, deviceName: device.deviceName }));

    const { body, state } = await finalState(device);
    expect(state.phase).toBe('succeeded');
    expect(state.progress).toBe(100);
    expect(state.attempt).toBe(1);
    expect(body.upgrade.status).toBe('COMPLETED');

    // The registry is written behind the signals (once a second), so it may take a moment to catch up.
    const ota = await waitFor('progress 100 in the registry', async () => {
      const response = await callApi(engine, 'GET', `/ota/${PRODUCT}/${device.deviceName}`);
      return response.body.progress === 100 ? response.body : undefined;
    });
    expect(ota.version).toBe('1.1');
    expect(ota.type).toBe('firmware');
    expect(ota.progress).toBe(100);
    const after = await waitFor('firmware_ver 1.1 in the registry', async () => {
      const response = await callApi(engine, 'GET', `/devices/${PRODUCT}/${device.deviceName}`);
      return response.body.device_status.firmware_ver === '1.1' ? response : undefined;
    });
    expect(after.body.device_status.firmware_ver).toBe('1.1');
    expect(device.currentVersion).toBe('1.1');
    expect(device.acceptedCommandCount).toBe(1);
  });

  it.each([
    ['download_error@40', 'download_error'],
    ['md5_error', 'md5_error'],
    ['install_error', 'install_error'],
    ['other_error@20', 'device_error'],
    ['reboot_old_version', 'version_mismatch'],
    ['stall@60', 'stall_timeout'],
    ['silent', 'stall_timeout'],
  ])('fails a device running %s with reason %s', async (scenario, reason) => {
    const device = await startDevice(scenario);
    expect((await requestUpgrade(device, { maxAttempts: 1 })).status).toBe(200);

    const { body, state } = await finalState(device);
    expect(state.phase).toBe('failed');
    expect(state.failureReason).toBe(reason);
    expect(body.upgrade.status).toBe('FAILED');
    expect(device.acceptedCommandCount).toBe(1);
    const registered = await callApi(engine, 'GET', `/devices/${PRODUCT}/${device.deviceName}`);
    expect(registered.body.device_status.firmware_ver).toBe('1.0');
  });

  it('retries a failed attempt and then succeeds', async () => {
    const device = await startDevice('download_error@40+success');
    await requestUpgrade(device, { maxAttempts: 3, initialBackoffMs: 200 });

    const { state } = await finalState(device);
    expect(state.phase).toBe('succeeded');
    expect(state.attempt).toBe(2);
    expect(state.attempts.map((attempt) => attempt.reason)).toEqual(['download_error', null]);
    const requestIds = device.commandsReceived.filter((command) => command.outcome === 'accepted').map((command) => command.requestId);
    expect(requestIds).toHaveLength(2);
    expect(new Set(requestIds).size).toBe(2);
    expect(requestIds).toEqual(state.attempts.map((attempt) => attempt.requestId));
  });

  it.each(['duplicates', 'out_of_order', 'stale_reports'])('succeeds despite %s', async (scenario) => {
    const device = await startDevice(scenario);
    const droppedBefore = engine.bridge.counts().ignored_late;
    await requestUpgrade(device);

    const { state } = await finalState(device);
    expect(state.phase).toBe('succeeded');
    expect(state.progress).toBe(100);
    // Repeated reports stop at the bridge; the workflow ignores reordered ones and those for another version.
    const droppedByBridge = engine.bridge.counts().ignored_late - droppedBefore;
    expect(state.ignoredReports + droppedByBridge).toBeGreaterThan(0);
    if (scenario === 'duplicates') expect(droppedByBridge).toBeGreaterThan(0);
  });

  it('rejects a second request while an upgrade runs', async () => {
    const device = await startDevice('stall@40');
    expect((await requestUpgrade(device, { stallTimeoutMs: 10_000 })).status).toBe(200);
    await device.waitForCommand({ outcome: 'accepted' });

    const second = await requestUpgrade(device);
    expect(second.status).toBe(409);
    expect(second.body.workflowId).toBe(upgradeWorkflowId({ productName: PRODUCT, deviceName: device.deviceName }));
    await engine.client.workflow.getHandle(second.body.workflowId).terminate('test done');
    expect(device.acceptedCommandCount).toBe(1);
  });

  it('records late reports without changing a finished upgrade', async () => {
    const device = await startDevice('success');
    await requestUpgrade(device);
    const { body: finishedBody, state: finished } = await finalState(device);
    expect(finished.phase).toBe('succeeded');

    const signalledBefore = engine.bridge.counts().signalled;
    const storedBefore = engine.bridge.counts().stored_no_upgrade;
    await probe.publishAsync(
      `update_ota_status/${PRODUCT}/${device.deviceName}/${new ObjectId().toHexString()}`,
      JSON.stringify({ version: '1.1', type: 'firmware', progress: -1, desc: 'late error' }),
      { qos: 1 },
    );
    const late = await waitFor('the late report in the registry', async () => {
      const response = await callApi(engine, 'GET', `/ota/${PRODUCT}/${device.deviceName}`);
      return response.body.progress === -1 ? response.body : undefined;
    });
    expect(late.desc).toBe('late error');
    expect(late.upgrade.state).toEqual(finished);
    // The report started no new run either.
    expect(late.upgrade.runId).toBe(finishedBody.upgrade.runId);
    expect(engine.bridge.counts().signalled).toBe(signalledBefore);
    expect(engine.bridge.counts().stored_no_upgrade).toBeGreaterThan(storedBefore);
  });

  it('answers 400 naming each invalid field and starts nothing', async () => {
    const device = await startDevice('success');
    const response = await callApi(engine, 'POST', `/ota/${PRODUCT}/${device.deviceName}`, {
      ...FIRMWARE,
      md5: 'abcd',
      size: -5,
      url: 'ftp://firmware.example/x',
      color: 'red',
    });
    expect(response.status).toBe(400);
    const fields = (response.body.fields as { field: string }[]).map((problem) => problem.field).sort();
    expect(fields).toEqual(['color', 'md5', 'size', 'url']);
    const { md5: _md5, ...withoutMd5 } = FIRMWARE;
    const missing = await callApi(engine, 'POST', `/ota/${PRODUCT}/${device.deviceName}`, withoutMd5);
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe('md5: missing required field (expected string)');
    const status = await callApi(engine, 'GET', `/ota/${PRODUCT}/${device.deviceName}`);
    expect(status.body.upgrade).toBeNull();
    expect(device.acceptedCommandCount).toBe(0);
  });

  it('accepts the IotHub form-encoded request', async () => {
    const device = await startDevice('success');
    const response = await fetch(`${engine.apiUrl}/ota/${PRODUCT}/${device.deviceName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...FIRMWARE, size: String(FIRMWARE.size) }).toString(),
    });
    expect(response.status).toBe(200);
    expect((await finalState(device)).state.phase).toBe('succeeded');
  });

  it('rejects names that would break a topic', async () => {
    for (const path of ['/ota/a+b/dev', '/ota/prod/%23', '/ota/prod/a%2Fb', '/devices/%24SYS/dev']) {
      const response = await callApi(engine, path.startsWith('/ota') ? 'POST' : 'GET', path, path.startsWith('/ota') ? FIRMWARE : undefined);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
    }
  });

  it('answers 405 for another method', async () => {
    const response = await fetch(`${engine.apiUrl}/ota/${PRODUCT}/any`, { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(((await response.json()) as { error: string }).error).toBe('method not allowed');
  });

  it('answers 404 for an unknown device', async () => {
    expect((await callApi(engine, 'GET', `/devices/${PRODUCT}/nobody`)).status).toBe(404);
    expect((await callApi(engine, 'GET', `/ota/${PRODUCT}/nobody`)).status).toBe(404);
  });

  it('counts malformed reports and keeps running', async () => {
    const before = engine.bridge.counts();
    const validId = new ObjectId().toHexString();
    // Another product's report is not this bridge's to take, so it adds to no count below.
    await probe.publishAsync(`update_ota_status/other${PRODUCT}/junk/${new ObjectId().toHexString()}`, 'not json', { qos: 1 });
    await probe.publishAsync(`update_ota_status/${PRODUCT}/junk/${validId}`, 'not json', { qos: 1 });
    await probe.publishAsync(`update_ota_status/${PRODUCT}/junk/${new ObjectId().toHexString()}`, JSON.stringify({ version: 1, progress: 'x' }), { qos: 1 });
    await probe.publishAsync(`update_status/${PRODUCT}/junk/not-an-object-id`, JSON.stringify({ firmware_ver: '1.0' }), { qos: 1 });
    await probe.publishAsync(`update_status/${PRODUCT}/junk/${new ObjectId().toHexString()}`, Buffer.alloc(10_000, 'x'), { qos: 1 });

    await waitFor('four rejections', () => {
      const counts = engine.bridge.counts();
      const rejected =
        counts.rejected_json - before.rejected_json +
        counts.rejected_payload - before.rejected_payload +
        counts.rejected_topic - before.rejected_topic +
        counts.rejected_oversized - before.rejected_oversized;
      return rejected >= 4 ? counts : undefined;
    });
    const after = engine.bridge.counts();
    expect(after.rejected_json - before.rejected_json).toBe(1);
    expect(after.rejected_payload - before.rejected_payload).toBe(1);
    expect(after.rejected_topic - before.rejected_topic).toBe(1);
    expect(after.rejected_oversized - before.rejected_oversized).toBe(1);
    expect((await callApi(engine, 'GET', `/devices/${PRODUCT}/junk`)).status).toBe(404);

    // A valid report after the garbage is still handled.
    const device = await startDevice('success');
    expect(device.online).toBe(true);
  });
});

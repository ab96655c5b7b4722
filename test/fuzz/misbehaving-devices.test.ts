import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ObjectId } from 'bson';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { startMosquittoServer, type MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';
import { SimDevice, type ScenarioOption } from '../../device-sim/sim-device';
import { reportTopic, ReportKind, upgradeWorkflowId, type DeviceRef } from '../../protocol';
import type { UpgradeState } from '../../workflows/upgrade-tracker';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import { waitFor } from '../support/worker-harness';
import { handledMessagesSince, ReportTraffic } from './support/report-traffic';
import { countSignals, listRuns, queryUpgradeState, terminateRunning } from './support/temporal-runs';

// Devices that misbehave, end to end: reports after the upgrade ended, reports for another version, and
// floods of reports with fresh message ids. The upgrade must not change after its end, the bridge must
// not fail, and the signals a device causes must stay within the bridge's budgets per device: a burst of
// 20 and one every two seconds for intermediate progress, a burst of 20 and one every ten seconds for
// reports that can end an attempt (bridge/bridge-service.ts).
//
// The engine runs on a Mosquitto of its own: every engine that startEngine starts takes every report on
// a broker, so on the harness's broker the bridges of other test files would signal these upgrades too,
// and the number of signals in a history would depend on which files run at the same time.

const PRODUCT = `fzd${randomUUID().slice(0, 6)}`;
const FIRMWARE = { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' };
/** Options of an upgrade that stays in downloading while its device is silent. */
const LONG_RUNNING = { stallTimeoutMs: 600_000, attemptTimeoutMs: 3_600_000, verifyTimeoutMs: 600_000, maxAttempts: 1 };
const SIGNAL_BURST = 20;
const SIGNALS_PER_SECOND = 0.5;
const DECISIVE_SIGNALS_PER_SECOND = 0.1;

let broker: MosquittoServerHandle;
let engine: RunningEngine;
let publisher: MqttClient;
let traffic: ReportTraffic;
const devices: SimDevice[] = [];

beforeAll(async () => {
  const dataDir = path.join(process.env.OTA_TEST_DATA_DIR ?? '/tmp', `mosquitto-${PRODUCT}`);
  broker = await startMosquittoServer({ dataDir, logger: pino({ level: 'silent' }) });
  // startEngine reads MQTT_URL before its first await, so the harness's value is restored at once.
  const harnessUrl = process.env.MQTT_URL;
  process.env.MQTT_URL = broker.url;
  // One bridge connection keeps a device's reports in the order they were published; with several, most
  // of a flood arrives after a newer report and is dropped as late, and what reaches the limits varies.
  const starting = startEngine('fuzz-devices', { bridgeConnections: 1 });
  process.env.MQTT_URL = harnessUrl;
  engine = await starting;
  publisher = await mqtt.connectAsync(broker.url, { clientId: `fuzz-device-publisher-${PRODUCT}`, reconnectPeriod: 0 });
  traffic = await ReportTraffic.start(broker.url, `fuzz-device-probe-${PRODUCT}`);
}, 120_000);

afterAll(async () => {
  await Promise.all(devices.map((device) => device.close()));
  await traffic?.stop();
  await publisher?.endAsync();
  if (engine) await terminateRunning(engine.client, engine.temporal.taskQueue);
  await engine?.stop();
  await broker?.stop();
}, 60_000);

async function startDevice(deviceName: string, scenarios: ScenarioOption): Promise<SimDevice> {
  const device = new SimDevice({
    productName: PRODUCT,
    deviceName,
    firmwareVersion: '1.0',
    scenarios,
    timings: { stepIntervalMs: 100, steps: 5, installDelayMs: 200 },
    mqttUrl: broker.url,
  });
  devices.push(device);
  await device.start();
  return device;
}

/** Starts a silent device and an upgrade of it that stays in downloading. */
async function startSilentUpgrade(deviceName: string, options: Record<string, unknown> = LONG_RUNNING): Promise<DeviceRef> {
  const device = await startDevice(deviceName, 'silent');
  const ref = device.ref;
  expect((await callApi(engine, 'POST', `/ota/${PRODUCT}/${deviceName}`, { ...FIRMWARE, options })).status).toBe(200);
  await device.waitForCommand({ outcome: 'accepted' });
  await waitFor(`the upgrade of ${deviceName} in downloading`, async () => ((await queryUpgradeState(engine.client, ref)).phase === 'downloading' ? true : undefined));
  return ref;
}

type Report = { kind: 'progress'; body: Record<string, unknown> } | { kind: 'status'; body: Record<string, unknown> };

/** Publishes reports as the device would, each with a fresh ObjectId, and waits until the bridge handled them. */
async function publishReports(ref: DeviceRef, reports: readonly Report[]): Promise<void> {
  await traffic.settle(engine.bridge);
  const messages = reports.map((report) => ({
    topic: reportTopic({ kind: report.kind === 'progress' ? ReportKind.OTA_PROGRESS : ReportKind.STATUS, ...ref, messageId: new ObjectId().toHexString() }),
    payload: JSON.stringify(report.body),
  }));
  traffic.expect(messages.map((message) => message.topic));
  await Promise.all(messages.map((message) => publisher.publishAsync(message.topic, message.payload, { qos: 1 })));
  await traffic.waitForBridge(engine.bridge, 120_000);
}

function progress(version: string, value: number, type = 'firmware'): Report {
  return { kind: 'progress', body: { version, type, progress: value, desc: `progress ${value}` } };
}

function status(fields: Record<string, unknown>): Report {
  return { kind: 'status', body: fields };
}

/** Reports of every kind a confused device sends: its own version's progress, other versions, old and new firmware_ver. */
function mixedReports(count: number): Report[] {
  const reports: Report[] = [];
  for (let index = 0; index < count; index += 1) {
    const value = (index % 105) - 4;
    switch (index % 6) {
      case 0:
        reports.push(progress('1.1', value));
        break;
      case 1:
        reports.push(progress('1.2', value));
        break;
      case 2:
        reports.push(progress('1.1', value, 'config'));
        break;
      case 3:
        reports.push(status({ firmware_ver: '1.0', uptime: index }));
        break;
      case 4:
        reports.push(status({ firmware_ver: index % 2 === 0 ? '1.1' : '1.2' }));
        break;
      default:
        reports.push(status({ uptime: index, rssi: -60 }));
    }
  }
  return reports;
}

/** Waits until the device's latest upgrade closed and returns its state and run id. */
async function finishedUpgrade(ref: DeviceRef): Promise<{ state: UpgradeState; runId: string; status: string }> {
  return waitFor(
    `the upgrade of ${ref.deviceName} to end`,
    async () => {
      const response = await callApi(engine, 'GET', `/ota/${ref.productName}/${ref.deviceName}`);
      const upgrade = response.body?.upgrade;
      return upgrade && upgrade.status !== 'RUNNING' && upgrade.state ? { state: upgrade.state as UpgradeState, runId: upgrade.runId as string, status: upgrade.status as string } : undefined;
    },
    60_000,
  );
}

describe('misbehaving devices', () => {
  it('changes nothing with reports after the end', async () => {
    const device = await startDevice('ended', 'success');
    expect((await callApi(engine, 'POST', `/ota/${PRODUCT}/ended`, { ...FIRMWARE, options: { stallTimeoutMs: 5_000, verifyTimeoutMs: 5_000 } })).status).toBe(200);
    const finished = await finishedUpgrade(device.ref);
    expect(finished.state.phase).toBe('succeeded');
    const signalsBefore = await countSignals(engine.client, upgradeWorkflowId(device.ref), finished.runId);
    const signalledBefore = engine.bridge.counts().signalled;

    await publishReports(device.ref, mixedReports(2_000));

    const after = await finishedUpgrade(device.ref);
    expect(after).toEqual(finished);
    expect(await countSignals(engine.client, upgradeWorkflowId(device.ref), finished.runId)).toBe(signalsBefore);
    expect(engine.bridge.counts().signalled).toBe(signalledBefore);
    const runs = (await listRuns(engine.client, engine.temporal.taskQueue)).filter((run) => run.workflowId === upgradeWorkflowId(device.ref));
    expect(runs).toHaveLength(1);
    // The late reports still reach the registry, which keeps the device's latest report.
    const registered = await waitFor('the late status in the registry', async () => {
      const response = await callApi(engine, 'GET', `/devices/${PRODUCT}/ended`);
      return response.body?.device_status?.uptime !== undefined ? response.body : undefined;
    });
    expect(typeof registered.device_status.uptime).toBe('number');
  }, 120_000);

  it('ignores reports for another version', async () => {
    const ref = await startSilentUpgrade('other-version');
    const reports = [
      progress('1.2', 0),
      progress('1.2', 40),
      progress('1.2', 100),
      progress('1.2', -1),
      progress('1.0', 100),
      progress('1.1', 100, 'config'),
      progress('1.1', -3, 'config'),
      status({ firmware_ver: '1.2' }),
    ];
    // One at a time: the bridge's four connections would handle a batch out of order and drop the reports
    // whose message id is older than one already handled, which would make the count below vary.
    for (const report of reports) await publishReports(ref, [report]);

    const state = await queryUpgradeState(engine.client, ref);
    expect(state.phase).toBe('downloading');
    expect(state.progress).toBeNull();
    expect(state.failureReason).toBeNull();
    expect(state.attempts.map((attempt) => attempt.reason)).toEqual([null]);
    // Every progress report reached the upgrade and was ignored. Progress 40 may be missing: the bridge
    // keeps intermediate progress back for its one-second interval and drops it for a later 0, 100 or error.
    const progressReports = reports.filter((report) => report.kind === 'progress').length;
    expect(state.ignoredReports).toBeGreaterThanOrEqual(progressReports - 1);
    expect(state.ignoredReports).toBeLessThanOrEqual(progressReports);

    // The upgrade still follows its own version afterwards.
    await publishReports(ref, [progress('1.1', 30)]);
    const progressed = await waitFor('progress 30 in the upgrade', async () => {
      const current = await queryUpgradeState(engine.client, ref);
      return current.progress === 30 ? current : undefined;
    });
    expect(progressed.phase).toBe('downloading');
  }, 120_000);

  it('keeps a flooding device within its signal budget', async () => {
    const ref = await startSilentUpgrade('flood');
    const signalsBefore = await countSignals(engine.client, upgradeWorkflowId(ref));
    const countsBefore = engine.bridge.counts();
    const floodStartedAt = Date.now();

    // The flood leaves out what would end the attempt legitimately: its own version's 100, error codes and firmware_ver.
    const flood = mixedReports(3_000).filter((report) => {
      if (report.kind === 'status') return report.body.firmware_ver !== '1.1';
      const value = report.body.progress as number;
      return !(report.body.version === '1.1' && report.body.type === 'firmware' && (value < 0 || value === 100));
    });
    await publishReports(ref, flood);
    const handledAfterMs = Date.now() - floodStartedAt;
    // Held-back progress goes out at the end of the interval, through the same budget.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const seconds = (Date.now() - floodStartedAt) / 1000;
    const signals = (await countSignals(engine.client, upgradeWorkflowId(ref))) - signalsBefore;
    expect(handledAfterMs).toBeLessThan(60_000);
    expect(signals).toBeGreaterThanOrEqual(SIGNAL_BURST / 2);
    // Two budgets: one for intermediate progress, one for reports that can end an attempt.
    const routineBudget = SIGNAL_BURST + Math.ceil(seconds * SIGNALS_PER_SECOND);
    const decisiveBudget = SIGNAL_BURST + Math.ceil(seconds * DECISIVE_SIGNALS_PER_SECOND);
    expect(signals).toBeLessThanOrEqual(routineBudget + decisiveBudget + 1);
    const counts = engine.bridge.counts();
    // Nothing else reports on this broker now, so every outcome counted since belongs to the flood.
    expect(handledMessagesSince(countsBefore, counts)).toBe(flood.length);
    expect(counts.rate_limited - countsBefore.rate_limited).toBeGreaterThan(0);
    expect(counts.retried_errors).toBe(countsBefore.retried_errors);

    const history = await engine.client.workflow.getHandle(upgradeWorkflowId(ref)).fetchHistory();
    expect(history.events?.length ?? 0).toBeLessThan(300);
    const description = await engine.client.workflow.getHandle(upgradeWorkflowId(ref)).describe();
    expect(description.status.name).toBe('RUNNING');
  }, 180_000);
});

describe('a device that floods and then completes', () => {
  // Statuses without firmware_ver are stored, not signalled, and progress 100 and firmware_ver have a
  // budget of their own, so the flood cannot hold back the reports that complete the upgrade.
  it('signals the outcome of a device that flooded', async () => {
    const ref = await startSilentUpgrade('flood-then-done', { stallTimeoutMs: 8_000, verifyTimeoutMs: 8_000, maxAttempts: 1 });
    const flood = Array.from({ length: 200 }, (_, index) => status({ uptime: index }));
    await publishReports(ref, [...flood, progress('1.1', 100), status({ firmware_ver: '1.1' })]);

    const registered = await waitFor('firmware_ver 1.1 in the registry', async () => {
      const response = await callApi(engine, 'GET', `/devices/${PRODUCT}/flood-then-done`);
      return response.body?.device_status?.firmware_ver === '1.1' ? response.body : undefined;
    });
    expect(registered.device_status.firmware_ver).toBe('1.1');
    const finished = await finishedUpgrade(ref);
    expect({ phase: finished.state.phase, reason: finished.state.failureReason }).toEqual({ phase: 'succeeded', reason: null });
  }, 120_000);
});

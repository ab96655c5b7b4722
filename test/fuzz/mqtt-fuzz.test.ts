import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { SimDevice, type ScenarioOption } from '../../device-sim/sim-device';
import { upgradeWorkflowId } from '../../protocol';
import type { UpgradeState } from '../../workflows/upgrade-tracker';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import { waitFor } from '../support/worker-harness';
import { captureEngineLog, type CapturedLog } from './support/engine-log';
import { checkProperty } from './support/fuzz-seed';
import { fuzzMessage, type FuzzMessage, type RunningUpgrade } from './support/mqtt-messages';
import { ReportTraffic } from './support/report-traffic';
import { listRunsSettled, queryUpgradeState, terminateRunning } from './support/temporal-runs';

// Property-based test of the bridge on the real stack: batches of generated MQTT messages (random bytes,
// wrong JSON types, payloads above 4 KiB, malformed topics, unknown devices, reports whose topic and
// payload disagree, reports of other versions) go to the harness's Mosquitto while one device's upgrade
// runs. The bridge must handle every message it is subscribed to, leave the running upgrade as it was,
// start no workflow, keep its log bounded, and still carry a good device through an upgrade afterwards.
// FUZZ_SEED=<n> (or `random`) changes the generated messages; a failure names the seed.

const PRODUCT = `fzm${randomUUID().slice(0, 6)}`;
const FIRMWARE = { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' };
const RUNNING: RunningUpgrade = { productName: PRODUCT, deviceName: 'running', version: FIRMWARE.version, type: FIRMWARE.type };
// Devices of the product that have no upgrade; the garbage names them so that their reports reach the registry.
const IDLE_DEVICES = Array.from({ length: 30 }, (_, index) => `idle-${index}`);

const BATCHES = 100;
const MESSAGES_PER_BATCH = 100;

// The bridge logs at most 10 lines per kind of rejection in each minute (bridge/log-throttle.ts), and
// there are four kinds: topic, oversized, JSON, payload.
const REJECTION_KINDS = 4;
const REJECTION_LINES_PER_MINUTE = 10;

let engine: RunningEngine;
let publisher: MqttClient;
let traffic: ReportTraffic;
let log: CapturedLog;
const devices: SimDevice[] = [];
let runningBefore: UpgradeState;
let fuzzStartedAt = 0;
let fuzzEndedAt = 0;
let published = 0;
let publishedToBridge = 0;
let retriedBefore = 0;

async function startDevice(deviceName: string, scenarios: ScenarioOption): Promise<SimDevice> {
  const device = new SimDevice({
    productName: PRODUCT,
    deviceName,
    firmwareVersion: '1.0',
    scenarios,
    timings: { stepIntervalMs: 100, steps: 5, installDelayMs: 200 },
    mqttUrl: engine.mqtt.url,
  });
  devices.push(device);
  await device.start();
  await waitFor(`${deviceName} in the registry`, async () => {
    const response = await callApi(engine, 'GET', `/devices/${PRODUCT}/${deviceName}`);
    return response.status === 200 ? response : undefined;
  });
  return device;
}

beforeAll(async () => {
  engine = await startEngine('fuzz-mqtt');
  log = captureEngineLog(engine.logger, 'warn');
  publisher = await mqtt.connectAsync(engine.mqtt.url, { clientId: `fuzz-publisher-${PRODUCT}`, reconnectPeriod: 0 });
  traffic = await ReportTraffic.start(engine.mqtt.url, `fuzz-probe-${PRODUCT}`);

  // A silent device accepts the command and never reports, so its upgrade stays in downloading; the long
  // stall timeout keeps it there for the whole run.
  const running = await startDevice(RUNNING.deviceName, 'silent');
  const started = await callApi(engine, 'POST', `/ota/${PRODUCT}/${RUNNING.deviceName}`, {
    ...FIRMWARE,
    options: { stallTimeoutMs: 600_000, attemptTimeoutMs: 3_600_000, verifyTimeoutMs: 600_000, maxAttempts: 1 },
  });
  expect(started.status).toBe(200);
  await running.waitForCommand({ outcome: 'accepted' });
  runningBefore = await waitFor('the running upgrade in downloading', async () => {
    const state = await queryUpgradeState(engine.client, RUNNING);
    return state.phase === 'downloading' ? state : undefined;
  });
  await traffic.settle(engine.bridge);
  retriedBefore = engine.bridge.counts().retried_errors;
}, 180_000);

afterAll(async () => {
  log?.stop();
  await Promise.all(devices.map((device) => device.close()));
  await traffic?.stop();
  await publisher?.endAsync();
  if (engine) await terminateRunning(engine.client, engine.temporal.taskQueue);
  await engine?.stop();
  console.info(
    `MQTT fuzz: ${published} messages published, ${publishedToBridge} on the bridge's topics, in ${((fuzzEndedAt - fuzzStartedAt) / 1000).toFixed(1)} s; ` +
      `bridge counts ${JSON.stringify(engine?.bridge.counts())}; ${log?.lines.length} log lines at warn or above`,
  );
}, 60_000);

/** Fields of the running upgrade that no message of the fuzz run may change. */
function unchangedFields(state: UpgradeState) {
  return {
    phase: state.phase,
    progress: state.progress,
    desc: state.desc,
    attempt: state.attempt,
    attempts: state.attempts,
    failureReason: state.failureReason,
    endedAt: state.endedAt,
  };
}

async function publishBatch(batch: readonly FuzzMessage[]): Promise<void> {
  traffic.expect(batch.filter((message) => message.matchesBridge).map((message) => message.topic));
  await Promise.all(batch.map((message) => publisher.publishAsync(message.topic, message.payload, { qos: 1 })));
  published += batch.length;
  publishedToBridge += batch.filter((message) => message.matchesBridge).length;
  await traffic.waitForBridge(engine.bridge);
  const state = await queryUpgradeState(engine.client, RUNNING);
  expect(unchangedFields(state)).toEqual(unchangedFields(runningBefore));
}

describe('MQTT fuzz', () => {
  it(
    'handles generated messages without harm',
    async () => {
      fuzzStartedAt = Date.now();
      await checkProperty(
        'MQTT messages',
        fc.asyncProperty(fc.array(fuzzMessage(RUNNING, PRODUCT, IDLE_DEVICES), { minLength: MESSAGES_PER_BATCH, maxLength: MESSAGES_PER_BATCH }), publishBatch),
        // A failed batch leaves the state it changed behind, so shrinking would replay it against another
        // state; the report names the whole batch instead.
        { numRuns: BATCHES, seedOffset: 11, endOnFailure: true },
      );
      fuzzEndedAt = Date.now();
      expect(published).toBeGreaterThanOrEqual(BATCHES * MESSAGES_PER_BATCH);
    },
    600_000,
  );

  it('threw no error while handling them', () => {
    // Invalid input is counted, never thrown; a thrown error would be retried and hold back the connection.
    expect(engine.bridge.counts().retried_errors).toBe(retriedBefore);
  });

  it('kept the upgrade running', async () => {
    // The signal budget of a device is checked in misbehaving-devices.test.ts, on a broker of its own: here
    // the bridges of other test files' engines take the same messages and signal this upgrade as well.
    const description = await engine.client.workflow.getHandle(upgradeWorkflowId(RUNNING)).describe();
    expect(description.status.name).toBe('RUNNING');
  });

  it('kept its log bounded', () => {
    const minutes = Math.floor((Date.now() - fuzzStartedAt) / 60_000) + 1;
    const rejectionLines = log.count({ service: 'bridge', msg: 'rejected MQTT message' });
    expect(rejectionLines).toBeGreaterThan(0);
    expect(rejectionLines).toBeLessThanOrEqual(REJECTION_KINDS * REJECTION_LINES_PER_MINUTE * (minutes + 1));
    const otherBridgeLines = log.lines.filter((line) => line.service === 'bridge' && line.msg !== 'rejected MQTT message');
    expect(otherBridgeLines).toEqual([]);
  });

  it('still upgrades a good device', async () => {
    const device = await startDevice('good', 'success');
    const started = await callApi(engine, 'POST', `/ota/${PRODUCT}/good`, { ...FIRMWARE, options: { stallTimeoutMs: 5_000, verifyTimeoutMs: 5_000 } });
    expect(started.status).toBe(200);
    const state = await waitFor(
      'the good device upgraded',
      async () => {
        const response = await callApi(engine, 'GET', `/ota/${PRODUCT}/good`);
        const upgrade = response.body?.upgrade;
        return upgrade?.status !== 'RUNNING' && upgrade?.state ? (upgrade.state as UpgradeState) : undefined;
      },
      30_000,
    );
    expect(state.phase).toBe('succeeded');
    expect(device.currentVersion).toBe('1.1');
  });

  it('started no workflow for the garbage', async () => {
    const runs = await listRunsSettled(engine.client, engine.temporal.taskQueue);
    expect(runs.map((run) => run.workflowId).sort()).toEqual([upgradeWorkflowId(RUNNING), upgradeWorkflowId({ productName: PRODUCT, deviceName: 'good' })].sort());
  });
});

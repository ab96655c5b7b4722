import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { ObjectId } from 'bson';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { startBridgeService, type BridgeService } from '../../bridge/bridge-service';
import type { TemporalSettings } from '../../config/settings';
import { MAX_REPORT_PAYLOAD_BYTES, upgradeWorkflowId, type DeviceRef } from '../../protocol';
import type { MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';
import { requiredEnv, waitFor } from '../support/worker-harness';
import { startPrivateBroker } from './private-broker';
import { sampleSum, sampleValue, scrape, type Sample } from './scrape';

// The bridge on a Mosquitto of this file's own, the harness's FerretDB and Temporal dev server, with its
// own metrics server. One MQTT connection handles the reports one at a time in the order they were
// published, so every count below is exact. A workflow that no worker runs serves as a running upgrade,
// because Temporal accepts signals for it all the same.

const PRODUCT = `metrics${randomUUID().slice(0, 6)}`;
const id = randomUUID().slice(0, 8);
const RUNNING: DeviceRef = { productName: PRODUCT, deviceName: 'running' };

let broker: MosquittoServerHandle;
let bridge: BridgeService;
let publisher: MqttClient;
let connection: Connection;
let client: Client;
let published = 0;

beforeAll(async () => {
  const temporal: TemporalSettings = {
    address: requiredEnv('TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: `metrics-bridge-${id}`,
    tls: false,
    tlsCertPath: undefined,
    tlsKeyPath: undefined,
    tlsCaPath: undefined,
    tlsServerName: undefined,
    apiKey: undefined,
  };
  broker = await startPrivateBroker('bridge-metrics');
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection, namespace: 'default' });
  await client.workflow.start('upgradeDevice', { workflowId: upgradeWorkflowId(RUNNING), taskQueue: `metrics-no-worker-${id}`, args: [{}] });

  bridge = await startBridgeService({
    temporal,
    mongo: { url: requiredEnv('MONGO_URL'), database: `ota_metrics_bridge_${id}` },
    mqtt: { url: broker.url, username: undefined, password: undefined, clientIdPrefix: `metrics-${id}` },
    // Intermediate progress is held back for five seconds, so that two reports in a row are coalesced.
    bridge: { connections: 1, sharedSubscription: false, shareGroup: 'unused', progressSignalIntervalMs: 5_000, cleanSession: false },
    logger: pino({ level: process.env.OTA_TEST_LOG_LEVEL ?? 'error' }),
    metricsServer: { host: '127.0.0.1', port: 0 },
  });
  publisher = await mqtt.connectAsync(broker.url, { clientId: `metrics-device-${id}` });
});

afterAll(async () => {
  await publisher?.endAsync();
  await bridge?.stop();
  await client?.workflow.getHandle(upgradeWorkflowId(RUNNING)).terminate('test finished').catch(() => undefined);
  await connection?.close();
  await broker?.stop();
});

async function publish(topic: string, payload: string | Buffer): Promise<void> {
  await publisher.publishAsync(topic, payload, { qos: 1 });
  published += 1;
}

function progressTopic(deviceName: string, messageId = new ObjectId().toHexString()): string {
  return `update_ota_status/${PRODUCT}/${deviceName}/${messageId}`;
}

function statusTopic(deviceName: string, messageId = new ObjectId().toHexString()): string {
  return `update_status/${PRODUCT}/${deviceName}/${messageId}`;
}

function progress(value: number): string {
  return JSON.stringify({ version: '1.1', type: 'firmware', progress: value, desc: 'download' });
}

/** Scrapes until the bridge has handled every report published so far, and returns the samples. */
async function scrapeWhenHandled(): Promise<Sample[]> {
  return waitFor(`the bridge to handle ${published} reports`, async () => {
    const samples = await scrape(bridge.metricsUrl!);
    return sampleSum(samples, 'ota_bridge_reports_handled_total') === published ? samples : undefined;
  });
}

describe('bridge metrics', () => {
  it('serves its metrics on its own server', async () => {
    expect(bridge.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const response = await fetch(bridge.metricsUrl!.replace(/\/metrics$/, '/other'));
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it('counts good and bad reports by outcome', async () => {
    const repeatedStatus = statusTopic('dev-1');
    await publish(repeatedStatus, JSON.stringify({ firmware_ver: '1.0' }));
    await publish(repeatedStatus, JSON.stringify({ firmware_ver: '1.0' }));
    await publish(progressTopic('dev-1'), progress(0));
    await publish(progressTopic('dev-1'), '{not json');
    await publish(progressTopic('dev-1'), JSON.stringify({ version: '1.1', progress: 'half' }));
    await publish(statusTopic('dev-1', 'not-an-object-id'), JSON.stringify({ firmware_ver: '1.0' }));
    await publish(statusTopic('dev-1'), Buffer.alloc(MAX_REPORT_PAYLOAD_BYTES + 1, 0x20));

    const samples = await scrapeWhenHandled();
    const handled = (outcome: string) => sampleValue(samples, 'ota_bridge_reports_handled_total', { outcome });
    expect(sampleValue(samples, 'ota_bridge_reports_received_total')).toBe(7);
    expect(handled('stored_no_upgrade')).toBe(2);
    expect(handled('ignored_late')).toBe(1);
    expect(handled('rejected_json')).toBe(1);
    expect(handled('rejected_payload')).toBe(1);
    expect(handled('rejected_topic')).toBe(1);
    expect(handled('rejected_oversized')).toBe(1);
    expect(handled('signalled')).toBe(0);
    expect(sampleValue(samples, 'ota_bridge_report_errors_total')).toBe(0);
    expect(sampleValue(samples, 'ota_bridge_signals_total', { signal: 'status', result: 'no_running_upgrade' })).toBe(1);
    expect(sampleValue(samples, 'ota_bridge_signals_total', { signal: 'progress', result: 'no_running_upgrade' })).toBe(1);
  });

  it('counts signals to a running upgrade and their latency', async () => {
    await publish(progressTopic(RUNNING.deviceName), progress(0));
    await publish(statusTopic(RUNNING.deviceName), JSON.stringify({ firmware_ver: '1.0' }));
    // Progress 20 and 40 arrive within the signal interval after 0, so they are held back.
    await publish(progressTopic(RUNNING.deviceName), progress(20));
    await publish(progressTopic(RUNNING.deviceName), progress(40));

    const samples = await scrapeWhenHandled();
    expect(sampleValue(samples, 'ota_bridge_reports_handled_total', { outcome: 'signalled' })).toBe(2);
    expect(sampleValue(samples, 'ota_bridge_reports_handled_total', { outcome: 'coalesced' })).toBe(2);
    for (const signal of ['progress', 'status']) {
      const labels = { signal, result: 'signalled' };
      expect(sampleValue(samples, 'ota_bridge_signals_total', labels)).toBe(1);
      expect(sampleValue(samples, 'ota_bridge_signal_duration_seconds_count', labels)).toBe(1);
      expect(sampleValue(samples, 'ota_bridge_signal_duration_seconds_sum', labels)).toBeGreaterThan(0);
    }
    const history = await client.workflow.getHandle(upgradeWorkflowId(RUNNING)).fetchHistory();
    const signals = history.events?.filter((event) => event.workflowExecutionSignaledEventAttributes) ?? [];
    expect(signals).toHaveLength(2);
  });

  it('signals held-back progress after the interval', async () => {
    const labels = { signal: 'progress', result: 'signalled' };
    const samples = await waitFor('the held-back progress signal', async () => {
      const current = await scrape(bridge.metricsUrl!);
      return sampleValue(current, 'ota_bridge_signals_total', labels) === 2 ? current : undefined;
    });
    // The report stays counted as coalesced: the outcome of a message is decided when it is handled.
    expect(sampleValue(samples, 'ota_bridge_reports_handled_total', { outcome: 'coalesced' })).toBe(2);
    expect(sampleValue(samples, 'ota_bridge_signal_duration_seconds_count', labels)).toBe(2);
    const history = await client.workflow.getHandle(upgradeWorkflowId(RUNNING)).fetchHistory();
    const signals = history.events?.filter((event) => event.workflowExecutionSignaledEventAttributes) ?? [];
    expect(signals).toHaveLength(3);
  });

  it('counts reports beyond the device signal rate as rate limited', async () => {
    // A device may cause a burst of 20 signals, and one more every two seconds.
    for (let index = 0; index < 25; index += 1) await publish(statusTopic('flooding'), JSON.stringify({ firmware_ver: '1.0', uptime: index }));

    const samples = await scrapeWhenHandled();
    const rateLimited = sampleValue(samples, 'ota_bridge_reports_handled_total', { outcome: 'rate_limited' })!;
    expect(rateLimited).toBeGreaterThanOrEqual(1);
    expect(rateLimited).toBeLessThanOrEqual(5);
    expect(sampleValue(samples, 'ota_bridge_signals_total', { signal: 'status', result: 'rate_limited' })).toBe(rateLimited);
    expect(sampleValue(samples, 'ota_bridge_reports_handled_total', { outcome: 'stored_no_upgrade' })).toBe(2 + 25 - rateLimited);
  });

  it('counts registry write batches and entries', async () => {
    // The write buffer flushes every second, so the last reports are written shortly after they were
    // handled. Three devices reported accepted reports, so at least three entries must be written; the
    // pending gauge is 0 already while the last batch is being written, so it alone is not enough.
    const samples = await waitFor('the registry writes', async () => {
      const current = await scrape(bridge.metricsUrl!);
      const done = sampleValue(current, 'ota_bridge_registry_pending_entries') === 0 && sampleValue(current, 'ota_bridge_registry_written_entries_total')! >= 3;
      return done ? current : undefined;
    });
    const batches = sampleValue(samples, 'ota_bridge_registry_write_batches_total', { result: 'written' })!;
    const entries = sampleValue(samples, 'ota_bridge_registry_written_entries_total')!;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'ota_bridge_registry_write_batches_total', { result: 'failed' })).toBe(0);
    // Each batch writes one entry per device at most.
    expect(entries).toBeGreaterThanOrEqual(3);
    expect(entries).toBeLessThanOrEqual(published);
    expect(sampleValue(samples, 'ota_bridge_registry_write_duration_seconds_count', { result: 'written' })).toBe(batches);
  });
});

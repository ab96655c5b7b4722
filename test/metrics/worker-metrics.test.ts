import { randomUUID } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { startApiService, type ApiService } from '../../api/api-service';
import { startBridgeService, type BridgeService } from '../../bridge/bridge-service';
import type { TemporalSettings } from '../../config/settings';
import { SimDevice, type ScenarioOption } from '../../device-sim/sim-device';
import { ProcessMetrics } from '../../metrics/process-metrics';
import { findFreeLoopbackPort, temporalCoreMetricsOptions, temporalCoreMetricsUrl } from '../../metrics/temporal-core-metrics';
import { startWorkerService, type WorkerService } from '../../worker/worker-service';
import type { MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';
import { callApi, TEST_UPGRADE_DEFAULTS } from '../support/engine-harness';
import { requiredEnv, waitFor } from '../support/worker-harness';
import { startPrivateBroker } from './private-broker';
import { sampleSum, sampleValue, scrape, scrapeText, type Sample } from './scrape';

// The worker, the bridge and the API in one process sharing one ProcessMetrics, as the start command runs
// them, with simulated devices on a Mosquitto of this file's own. The worker serves the shared metrics
// on its own server, with the Temporal SDK core's metrics appended, and the API serves the same at /metrics.
//
// This file installs the SDK Runtime itself, with the core's Prometheus exporter, so it does not use the
// engine harness, whose Runtime has no metrics.

const PRODUCT = `metrics${randomUUID().slice(0, 6)}`;
const id = randomUUID().slice(0, 8);
const FIRMWARE = { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' };
const FAST_TIMINGS = { stepIntervalMs: 100, steps: 5, installDelayMs: 200 };
const FAST_OPTIONS = { stallTimeoutMs: 3_000, verifyTimeoutMs: 3_000, maxAttempts: 1 };

const metrics = new ProcessMetrics();
let broker: MosquittoServerHandle;
let worker: WorkerService;
let bridge: BridgeService;
let api: ApiService;
const devices: SimDevice[] = [];

beforeAll(async () => {
  broker = await startPrivateBroker('worker-metrics');
  const corePort = await findFreeLoopbackPort();
  Runtime.install({
    logger: new DefaultLogger(process.env.OTA_TEST_SDK_LOG_LEVEL === 'WARN' ? 'WARN' : 'ERROR'),
    telemetryOptions: { metrics: temporalCoreMetricsOptions(corePort) },
  });
  const temporal: TemporalSettings = {
    address: requiredEnv('TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: `metrics-worker-${id}`,
    tls: false,
    tlsCertPath: undefined,
    tlsKeyPath: undefined,
    tlsCaPath: undefined,
    tlsServerName: undefined,
    apiKey: undefined,
  };
  const mongo = { url: requiredEnv('MONGO_URL'), database: `ota_metrics_worker_${id}` };
  const mqtt = { url: broker.url, username: undefined, password: undefined, clientIdPrefix: `metrics-${id}` };
  const logger = pino({ level: process.env.OTA_TEST_LOG_LEVEL ?? 'error' });

  worker = await startWorkerService({
    temporal,
    mongo,
    mqtt,
    logger,
    // Without a workflow cache every workflow task replays the history from the start, so the exact
    // counts below also show that the sinks skip calls made during replay.
    tuning: { shutdownGraceTime: '1s', maxCachedWorkflows: 0 },
    metrics,
    metricsServer: { host: '127.0.0.1', port: 0 },
    temporalCoreMetricsUrl: temporalCoreMetricsUrl(corePort),
  });
  bridge = await startBridgeService({
    temporal,
    mongo,
    mqtt,
    bridge: { connections: 1, sharedSubscription: false, shareGroup: 'unused', progressSignalIntervalMs: 1_000, cleanSession: false },
    logger,
    metrics,
  });
  api = await startApiService({ http: { host: '127.0.0.1', port: 0 }, temporal, mongo, defaults: TEST_UPGRADE_DEFAULTS, logger, metrics });
});

afterAll(async () => {
  await Promise.all(devices.map((device) => device.close()));
  await api?.stop();
  await bridge?.stop();
  await worker?.stop();
  await broker?.stop();
});

async function startDevice(deviceName: string, scenarios: ScenarioOption, firmwareVersion = '1.0'): Promise<SimDevice> {
  const device = new SimDevice({ productName: PRODUCT, deviceName, firmwareVersion, scenarios, timings: FAST_TIMINGS, mqttUrl: broker.url });
  devices.push(device);
  await device.start();
  await waitFor(`${deviceName} in the registry`, async () => {
    const response = await callApi({ apiUrl: api.url }, 'GET', `/devices/${PRODUCT}/${deviceName}`);
    return response.status === 200 ? response : undefined;
  });
  return device;
}

/** Scrapes the worker's metrics until `check` accepts them. */
async function scrapeWorkerUntil(description: string, check: (samples: Sample[]) => boolean): Promise<Sample[]> {
  return waitFor(description, async () => {
    const samples = await scrape(worker.metricsUrl!);
    return check(samples) ? samples : undefined;
  }, 30_000);
}

describe('worker metrics', () => {
  it('counts upgrades by outcome and reason through the sink', async () => {
    await startDevice('good', 'success');
    await startDevice('broken', 'install_error');
    for (const deviceName of ['good', 'broken']) {
      const response = await callApi({ apiUrl: api.url }, 'POST', `/ota/${PRODUCT}/${deviceName}`, { ...FIRMWARE, options: FAST_OPTIONS });
      expect(response.status).toBe(200);
    }

    const finished = 'ota_upgrades_finished_total';
    const samples = await scrapeWorkerUntil('both upgrades to finish', (current) => sampleSum(current, finished, { trigger: 'request' }) === 2);
    expect(sampleValue(samples, 'ota_upgrades_started_total', { trigger: 'request' })).toBe(2);
    expect(sampleValue(samples, finished, { trigger: 'request', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(samples, finished, { trigger: 'request', outcome: 'failed', reason: 'install_error' })).toBe(1);
    expect(sampleValue(samples, finished, { trigger: 'request', outcome: 'cancelled' })).toBe(0);
    expect(sampleValue(samples, 'ota_upgrade_duration_seconds_count', { trigger: 'request', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(samples, 'ota_upgrade_duration_seconds_sum', { trigger: 'request', outcome: 'succeeded' })).toBeGreaterThan(0);
    expect(sampleValue(samples, 'ota_command_publishes_total', { command: '$ota_upgrade', result: 'acknowledged' })).toBe(2);
    expect(sampleValue(samples, 'ota_command_publish_duration_seconds_count', { command: '$ota_upgrade', result: 'acknowledged' })).toBe(2);
  });

  it('counts campaign device outcomes', async () => {
    await startDevice('campaign-new', 'success');
    await startDevice('campaign-current', 'success', '1.1');
    const created = await callApi({ apiUrl: api.url }, 'POST', '/campaigns', {
      id: `metrics-${id}`,
      productName: PRODUCT,
      target: { kind: 'devices', deviceNames: ['campaign-new', 'campaign-current'] },
      firmware: FIRMWARE,
      upgrade: FAST_OPTIONS,
    });
    expect(created.status).toBe(201);

    const samples = await scrapeWorkerUntil('the campaign to end', (current) => sampleSum(current, 'ota_campaigns_finished_total') === 1);
    expect(sampleValue(samples, 'ota_campaigns_started_total')).toBe(1);
    expect(sampleValue(samples, 'ota_campaigns_finished_total', { state: 'completed' })).toBe(1);
    expect(sampleValue(samples, 'ota_campaign_devices_finished_total', { outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(samples, 'ota_campaign_devices_finished_total', { outcome: 'skipped', reason: 'already_installed' })).toBe(1);
    // The device already on 1.1 was skipped before an upgrade workflow started.
    expect(sampleValue(samples, 'ota_upgrades_started_total', { trigger: 'campaign' })).toBe(1);
    expect(sampleValue(samples, 'ota_upgrades_finished_total', { trigger: 'campaign', outcome: 'succeeded' })).toBe(1);
  });

  it('appends the Temporal SDK core metrics', async () => {
    const samples = await scrape(worker.metricsUrl!);
    expect(sampleValue(samples, 'ota_metrics_source_up', { source: 'temporal_core' })).toBe(1);
    const temporalNames = new Set(samples.filter((sample) => sample.name.startsWith('temporal_')).map((sample) => sample.name));
    expect(temporalNames.size).toBeGreaterThan(5);
    expect(sampleSum(samples, 'temporal_workflow_completed', { workflow_type: 'upgradeDevice', task_queue: `metrics-worker-${id}` })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('serves the shared metrics at the API too', async () => {
    const text = await scrapeText(`${api.url}/metrics`);
    for (const name of ['ota_upgrades_started_total', 'ota_bridge_reports_received_total', 'ota_api_http_requests_total', 'temporal_workflow_completed']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // Every family appears once, so Prometheus accepts the text whole.
    const types = text.split('\n').filter((line) => line.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
  });
});

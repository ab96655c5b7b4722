import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { startApiService, type ApiService } from '../../api/api-service';
import type { TemporalSettings } from '../../config/settings';
import { TEST_UPGRADE_DEFAULTS } from '../support/engine-harness';
import { requiredEnv } from '../support/worker-harness';
import { parseSamples, sampleSum, sampleValue, scrape, scrapeText } from './scrape';

// The API on the real Temporal dev server and FerretDB. Requests go to routes whose responses need no
// worker: health, an unknown device (404), an invalid upgrade request (400) and a path with no route.

const PRODUCT = `metrics${randomUUID().slice(0, 6)}`;
const id = randomUUID().slice(0, 8);
let api: ApiService;

beforeAll(async () => {
  const temporal: TemporalSettings = {
    address: requiredEnv('TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: `metrics-api-${id}`,
    tls: false,
    tlsCertPath: undefined,
    tlsKeyPath: undefined,
    tlsCaPath: undefined,
    tlsServerName: undefined,
    apiKey: undefined,
  };
  api = await startApiService({
    http: { host: '127.0.0.1', port: 0 },
    temporal,
    mongo: { url: requiredEnv('MONGO_URL'), database: `ota_metrics_api_${id}` },
    defaults: TEST_UPGRADE_DEFAULTS,
    logger: pino({ level: process.env.OTA_TEST_LOG_LEVEL ?? 'error' }),
  });
});

afterAll(async () => {
  await api?.stop();
});

async function send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('API metrics', () => {
  it('counts requests by route pattern and status', async () => {
    expect(await send('GET', '/health')).toBe(200);
    expect(await send('GET', '/health')).toBe(200);
    expect(await send('GET', `/devices/${PRODUCT}/dev-1`)).toBe(404);
    expect(await send('GET', `/devices/${PRODUCT}/dev-2`)).toBe(404);
    expect(await send('GET', `/devices/${PRODUCT}/dev-3`)).toBe(404);
    expect(await send('POST', `/ota/${PRODUCT}/dev-1`, { type: 'firmware', url: 'not a url', version: '1.1', size: 0, md5: 'x' })).toBe(400);
    expect(await send('GET', `/no-such-route/${PRODUCT}`)).toBe(404);

    const samples = await scrape(`${api.url}/metrics`);
    const requests = 'ota_api_http_requests_total';
    expect(sampleValue(samples, requests, { method: 'GET', route: '/health', status_code: '200' })).toBe(2);
    expect(sampleValue(samples, requests, { method: 'GET', route: '/devices/:productName/:deviceName', status_code: '404' })).toBe(3);
    expect(sampleValue(samples, requests, { method: 'POST', route: '/ota/:productName/:deviceName', status_code: '400' })).toBe(1);
    expect(sampleValue(samples, requests, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    // Raw URLs never become label values, or every device would add a series.
    const routes = samples.filter((sample) => sample.name === requests).map((sample) => sample.labels.route);
    expect(routes.filter((route) => route?.includes(PRODUCT))).toEqual([]);
  });

  it('records request durations per route', async () => {
    expect(await send('GET', '/health')).toBe(200);
    const samples = await scrape(`${api.url}/metrics`);
    const labels = { method: 'GET', route: '/health', status_code: '200' };
    const count = sampleValue(samples, 'ota_api_http_request_duration_seconds_count', labels);
    expect(count).toBe(sampleValue(samples, 'ota_api_http_requests_total', labels));
    expect(count).toBeGreaterThanOrEqual(1);
    expect(sampleValue(samples, 'ota_api_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(count);
    expect(sampleValue(samples, 'ota_api_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });

  it('counts its own scrapes and serves process metrics', async () => {
    const before = sampleSum(await scrape(`${api.url}/metrics`), 'ota_api_http_requests_total', { route: '/metrics' });
    const response = await fetch(`${api.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseSamples(await response.text());
    // A scrape is counted once its response is sent, so the scrape in progress is not in its own text.
    expect(sampleSum(samples, 'ota_api_http_requests_total', { route: '/metrics' })).toBeGreaterThan(before);
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('serves text that parses line by line', async () => {
    const text = await scrapeText(`${api.url}/metrics`);
    expect(() => parseSamples(text)).not.toThrow();
    expect(text).toContain('# TYPE ota_api_http_requests_total counter');
    expect(text).toContain('# TYPE ota_api_http_request_duration_seconds histogram');
  });
});

import type { ApiService } from '../../api/api-service';
import { MAX_CAMPAIGN_BODY_BYTES } from '../../api/campaign-request';
import { MAX_BODY_BYTES } from '../../api/server';
import { capturingLogger, newToken, send, startSecuredApi, testTokens, tokenSecurity } from './secured-api';

// Rate limits and body size limits of the API, on the test run's Temporal and FerretDB. None of these
// requests reaches a workflow, so no worker runs.

const { read, operator, tokens } = testTokens();
const apis: ApiService[] = [];

afterAll(async () => {
  await Promise.all(apis.map((api) => api.stop()));
});

async function start(...args: Parameters<typeof startSecuredApi>): Promise<ApiService> {
  const api = await startSecuredApi(...args);
  apis.push(api);
  return api;
}

describe('rate limit', () => {
  // A burst of 3 and one request per 10 s, so no token comes back while a test runs.
  const limit = { perSecond: 0.1, burst: 3 };

  it('answers 429 with Retry-After after the burst', async () => {
    const api = await start({ security: tokenSecurity(tokens, { rateLimit: limit }) });
    for (let request = 1; request <= 3; request += 1) expect((await send(api.url, 'GET', '/campaigns', { token: read })).status).toBe(200);
    const limited = await send(api.url, 'GET', '/campaigns', { token: read });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(10);
    expect(limited.json.error).toBe('too many requests');
    expect(limited.json.message).toContain("token 'dashboard' exceeded the rate limit of 0.1 requests per second (burst 3)");
  });

  it('limits each principal on its own', async () => {
    const api = await start({ security: tokenSecurity(tokens, { rateLimit: limit }) });
    for (let request = 1; request <= 4; request += 1) await send(api.url, 'GET', '/campaigns', { token: read });
    expect((await send(api.url, 'GET', '/campaigns', { token: read })).status).toBe(429);
    expect((await send(api.url, 'GET', '/campaigns', { token: operator })).status).toBe(200);
  });

  it('never limits health, readiness and metrics', async () => {
    const api = await start({ security: tokenSecurity(tokens, { rateLimit: limit, healthAccess: 'token' }) });
    for (let request = 1; request <= 4; request += 1) await send(api.url, 'GET', '/campaigns', { token: read });
    expect((await send(api.url, 'GET', '/campaigns', { token: read })).status).toBe(429);
    for (let request = 1; request <= 10; request += 1) {
      for (const path of ['/health', '/ready', '/metrics']) expect([path, (await send(api.url, 'GET', path, { token: read })).status]).toEqual([path, 200]);
    }
  });

  it('limits failed attempts by client address', async () => {
    const api = await start({ security: tokenSecurity(tokens, { rateLimit: limit }) });
    for (let request = 1; request <= 3; request += 1) expect((await send(api.url, 'GET', '/campaigns', { token: newToken() })).status).toBe(401);
    const limited = await send(api.url, 'GET', '/campaigns', { token: newToken() });
    expect(limited.status).toBe(429);
    expect(limited.json.message).toContain('address 127.0.0.1 exceeded the rate limit');
    // A valid token has a bucket of its own.
    expect((await send(api.url, 'GET', '/campaigns', { token: read })).status).toBe(200);
  });

  it('limits by client address when authentication is disabled', async () => {
    const api = await start({ security: { auth: { mode: 'disabled' }, healthAccess: 'open', metricsAccess: 'open', rateLimit: limit } });
    for (let request = 1; request <= 3; request += 1) expect((await send(api.url, 'GET', '/campaigns')).status).toBe(200);
    const limited = await send(api.url, 'GET', '/campaigns');
    expect(limited.status).toBe(429);
    expect(limited.json.message).toContain('address 127.0.0.1 exceeded the rate limit');
    expect((await send(api.url, 'GET', '/health')).status).toBe(200);
  });

  it('is off with a rate of 0', async () => {
    const api = await start({ security: tokenSecurity(tokens, { rateLimit: { perSecond: 0, burst: 1 } }) });
    for (let request = 1; request <= 20; request += 1) expect((await send(api.url, 'GET', '/campaigns', { token: read })).status).toBe(200);
  });

  it('logs denials at most once per client and reason per interval', async () => {
    const log = capturingLogger();
    const api = await start({ security: tokenSecurity(tokens, { rateLimit: limit }), logger: log.logger });
    for (let request = 1; request <= 10; request += 1) await send(api.url, 'GET', '/campaigns', { token: read });
    const denied = log.lines().filter((line) => line.msg === 'request denied: rate_limited');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ reason: 'rate_limited', client: "token 'dashboard'", principal: 'dashboard', suppressed: 0 });
    const completed = log.lines().filter((line) => line.msg === 'request completed' && (line.res as { statusCode?: number })?.statusCode === 429);
    expect(completed).toHaveLength(7);
  });
});

describe('body size limit', () => {
  let api: ApiService;

  beforeAll(async () => {
    api = await start({ security: tokenSecurity(tokens) });
  });

  it('answers 413 for a POST /ota body over 64 KiB', async () => {
    const body = { type: 'firmware', url: `https://firmware.example/${'a'.repeat(MAX_BODY_BYTES)}`, version: '1.1', size: 1, md5: 'c4ca4238a0b923820dcc509a6f75849b' };
    const response = await send(api.url, 'POST', '/ota/demo/device-1', { token: operator, body });
    expect(response.status).toBe(413);
    expect(response.json.error).toBe('payload too large');
    expect(response.json.message).toBe(`the request body is too large: the limit for POST /ota/:productName/:deviceName is ${MAX_BODY_BYTES} bytes`);
  });

  it('answers 413 for a form body over 64 KiB', async () => {
    const rawBody = `type=firmware&url=${'a'.repeat(MAX_BODY_BYTES)}`;
    const response = await send(api.url, 'POST', '/ota/demo/device-1', { token: operator, rawBody, contentType: 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(413);
  });

  it('accepts a POST /campaigns body over 64 KiB', async () => {
    const deviceNames = Array.from({ length: 6_000 }, (_, index) => `device-${index}`);
    const body = { productName: 'demo', target: { kind: 'devices', deviceNames }, firmware: { version: '1.1' } };
    expect(JSON.stringify(body).length).toBeGreaterThan(MAX_BODY_BYTES);
    // Invalid firmware, so the request stops at validation after its body was read.
    const response = await send(api.url, 'POST', '/campaigns', { token: operator, body });
    expect(response.status).toBe(400);
    expect(response.json.message).toContain('firmware');
  });

  it('answers 413 for a POST /campaigns body over 1 MiB', async () => {
    const deviceNames = Array.from({ length: 80_000 }, (_, index) => `device-${index}`);
    const body = { productName: 'demo', target: { kind: 'devices', deviceNames } };
    expect(JSON.stringify(body).length).toBeGreaterThan(MAX_CAMPAIGN_BODY_BYTES);
    const response = await send(api.url, 'POST', '/campaigns', { token: operator, body });
    expect(response.status).toBe(413);
    expect(response.json.message).toBe(`the request body is too large: the limit for POST /campaigns is ${MAX_CAMPAIGN_BODY_BYTES} bytes`);
  });

  it('answers 401 before reading a large body without a token', async () => {
    const response = await send(api.url, 'POST', '/ota/demo/device-1', { rawBody: 'x'.repeat(MAX_BODY_BYTES * 2) });
    expect(response.status).toBe(401);
  });
});

import { MongoClient } from 'mongodb';
import type { ApiService } from '../../api/api-service';
import { DeviceRegistry } from '../../storage/device-registry';
import { CAMPAIGN_FIRMWARE, uniqueProduct } from '../support/campaign-harness';
import { startEngine, type RunningEngine } from '../support/engine-harness';
import { waitFor } from '../support/worker-harness';
import { capturingLogger, newToken, send, startSecuredApi, testTokens, tokenSecurity } from './secured-api';

// The API with a read token and an operator token, on the engine of this file (worker, bridge, Temporal,
// FerretDB), so that every route runs for real once a request passes authentication.

const PRODUCT = uniqueProduct('auth');
const DEVICE = 'lamp-1';
const { read, operator, tokens } = testTokens();

let engine: RunningEngine;
let mongo: MongoClient;
let api: ApiService;
const log = capturingLogger();
let campaignId: string;

beforeAll(async () => {
  engine = await startEngine('api-auth');
  mongo = await MongoClient.connect(engine.mongo.url);
  const registry = new DeviceRegistry(mongo.db(engine.mongo.database));
  await registry.recordStatus({ productName: PRODUCT, deviceName: DEVICE }, { firmware_ver: '1.0' }, new Date());
  api = await startSecuredApi({ security: tokenSecurity(tokens), logger: log.logger, temporal: engine.temporal, mongo: engine.mongo });

  // A campaign of one device that never reports, so it stays running while the controls are tried.
  campaignId = `auth-${PRODUCT}`;
  const created = await send(api.url, 'POST', '/campaigns', {
    token: operator,
    body: {
      id: campaignId,
      productName: PRODUCT,
      target: { kind: 'devices', deviceNames: [DEVICE] },
      firmware: CAMPAIGN_FIRMWARE,
      upgrade: { stallTimeoutMs: 600_000, maxAttempts: 1 },
    },
  });
  expect(created.status).toBe(201);
  await waitFor('the campaign to run', async () => {
    const response = await send(api.url, 'GET', `/campaigns/${campaignId}`, { token: read });
    return response.json?.view?.state === 'running' ? true : undefined;
  }, 30_000);
});

afterAll(async () => {
  await api?.stop();
  await mongo?.close();
  await engine?.stop();
});

const readRoutes = () => [
  `/ota/${PRODUCT}/${DEVICE}`,
  `/devices/${PRODUCT}/${DEVICE}`,
  '/campaigns',
  `/campaigns/${campaignId}`,
  `/campaigns/${campaignId}/devices`,
];

const UPGRADE_BODY = { type: 'firmware', url: 'https://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' };

// Each operator route with a body that the route would accept, so that only the role can reject it.
const operatorRoutes = (): [string, unknown][] => [
  [`/ota/${PRODUCT}/other-device`, UPGRADE_BODY],
  ['/campaigns', { id: `denied-${PRODUCT}`, productName: PRODUCT, target: { kind: 'all' }, firmware: CAMPAIGN_FIRMWARE }],
  [`/campaigns/${campaignId}/pause`, undefined],
  [`/campaigns/${campaignId}/resume`, undefined],
  [`/campaigns/${campaignId}/cancel`, undefined],
  [`/campaigns/${campaignId}/retry-failed`, undefined],
];

/** Variants of the operator token that must all be rejected. */
function wrongTokens(): [string, string][] {
  const last = operator.at(-1) === '0' ? '1' : '0';
  return [
    ['differing only in the last character', `${operator.slice(0, -1)}${last}`],
    ['one character shorter', operator.slice(0, -1)],
    ['one character longer', `${operator}0`],
    ['of a different length', newToken().slice(0, 40)],
    ['never issued', newToken()],
  ];
}

describe('API authentication', () => {
  it('rejects every route without a token', async () => {
    for (const path of readRoutes()) {
      const response = await send(api.url, 'GET', path);
      expect([path, response.status]).toEqual([path, 401]);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="ota-api"');
      expect(response.json.error).toBe('unauthorized');
      expect(response.json.message).toContain("send the header 'Authorization: Bearer <token>'");
    }
    for (const [path, body] of operatorRoutes()) {
      const response = await send(api.url, 'POST', path, { body });
      expect([path, response.status]).toEqual([path, 401]);
    }
  });

  it('rejects a path with no route without a token', async () => {
    const response = await send(api.url, 'GET', '/no-such-route');
    expect(response.status).toBe(401);
    const withToken = await send(api.url, 'GET', '/no-such-route', { token: read });
    expect(withToken.status).toBe(404);
  });

  it.each(wrongTokens())('rejects a token %s', async (_case, wrong) => {
    for (const [method, path] of [['GET', '/campaigns'], ['POST', `/campaigns/${campaignId}/pause`]] as const) {
      const response = await send(api.url, method, path, { token: wrong });
      expect([path, response.status]).toEqual([path, 401]);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="ota-api", error="invalid_token"');
      expect(response.json.message).toBe('the bearer token is not valid: ask the operator of the API for a valid token');
      expect(response.text).not.toContain(wrong);
    }
  });

  it('rejects credentials of another scheme', async () => {
    const basic = `Basic ${Buffer.from(`release-bot:${operator}`).toString('base64')}`;
    for (const authorization of [basic, operator, `Bearer ${operator} ${operator}`]) {
      const response = await send(api.url, 'GET', '/campaigns', { authorization });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="ota-api", error="invalid_request"');
      expect(response.text).not.toContain(operator);
    }
  });

  it('rejects a read token on each operator route', async () => {
    for (const [path, body] of operatorRoutes()) {
      const response = await send(api.url, 'POST', path, { token: read, body });
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="ota-api", error="insufficient_scope", scope="operator"');
      expect(response.json.error).toBe('forbidden');
      expect(response.json.message).toContain("requires role operator, but token 'dashboard' has role read");
      expect(response.text).not.toContain(read);
    }
    // Nothing happened: the denied campaign does not exist and the campaign still runs.
    expect((await send(api.url, 'GET', `/campaigns/denied-${PRODUCT}`, { token: read })).status).toBe(404);
    expect((await send(api.url, 'GET', `/ota/${PRODUCT}/other-device`, { token: read })).status).toBe(404);
    expect((await send(api.url, 'GET', `/campaigns/${campaignId}`, { token: read })).json.view.state).toBe('running');
  });

  it('serves the read routes to a read token', async () => {
    for (const path of readRoutes()) {
      const response = await send(api.url, 'GET', path, { token: read });
      expect([path, response.status]).toEqual([path, 200]);
    }
    const device = await send(api.url, 'GET', `/devices/${PRODUCT}/${DEVICE}`, { token: read });
    expect(device.json.device_status.firmware_ver).toBe('1.0');
  });

  it('accepts the operator token on every route', async () => {
    for (const path of readRoutes()) {
      const response = await send(api.url, 'GET', path, { token: operator });
      expect([path, response.status]).toEqual([path, 200]);
    }
    const upgrade = await send(api.url, 'POST', `/ota/${PRODUCT}/other-device`, { token: operator, body: UPGRADE_BODY });
    expect(upgrade.status).toBe(200);
    const campaign = await send(api.url, 'POST', '/campaigns', {
      token: operator,
      body: { id: `second-${PRODUCT}`, productName: PRODUCT, target: { kind: 'devices', deviceNames: ['nobody'] }, firmware: CAMPAIGN_FIRMWARE, startAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(campaign.status).toBe(201);

    const pause = await send(api.url, 'POST', `/campaigns/${campaignId}/pause`, { token: operator });
    expect([pause.status, pause.json?.state]).toEqual([200, 'paused']);
    const resume = await send(api.url, 'POST', `/campaigns/${campaignId}/resume`, { token: operator });
    expect([resume.status, resume.json?.state]).toEqual([200, 'running']);
    const cancel = await send(api.url, 'POST', `/campaigns/${campaignId}/cancel`, { token: operator });
    expect([cancel.status, cancel.json?.state]).toEqual([200, 'cancelled']);
    // Allowed once the campaign's workflow has ended; until then the API responds 409, never 401 or 403.
    const retry = await send(api.url, 'POST', `/campaigns/${campaignId}/retry-failed`, { token: operator });
    expect([200, 409]).toContain(retry.status);
  });

  it('leaves health, readiness and metrics open by default', async () => {
    for (const path of ['/health', '/ready', '/metrics']) {
      const response = await send(api.url, 'GET', path);
      expect([path, response.status]).toEqual([path, 200]);
    }
  });

  it('counts denied requests in the metrics', async () => {
    const metrics = await send(api.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/ota_api_http_requests_total\{method="GET",route="\/campaigns",status_code="401"\} [1-9]/);
    expect(metrics.text).toMatch(/ota_api_http_requests_total\{method="POST",route="\/campaigns\/:id\/pause",status_code="403"\} [1-9]/);
  });

  it('logs the principal of each request and never a token', async () => {
    const completed = log.lines().filter((line) => line.msg === 'request completed');
    const principals = new Set(completed.map((line) => line.principal));
    expect(principals).toContain('dashboard');
    expect(principals).toContain('release-bot');

    const denied = log.lines().filter((line) => line.msg === 'request denied: insufficient_role');
    expect(denied[0]).toMatchObject({ level: 40, reason: 'insufficient_role', client: "token 'dashboard'", principal: 'dashboard' });
    const invalid = log.lines().filter((line) => line.reason === 'invalid_token');
    expect(invalid[0]).toMatchObject({ client: 'address 127.0.0.1', remoteAddress: '127.0.0.1', route: '/campaigns' });

    const text = log.text();
    expect(text).not.toContain(read);
    expect(text).not.toContain(operator);
    for (const [, wrong] of wrongTokens()) expect(text).not.toContain(wrong.slice(0, 40));
  });

  it('redacts an Authorization header that a log line carries', () => {
    // The API logs no headers; this checks the redaction that would catch a handler that did.
    log.logger.info({ headers: { authorization: `Bearer ${operator}` } }, 'request headers');
    const line = log.lines().find((candidate) => candidate.msg === 'request headers');
    expect(line?.headers).toEqual({ authorization: '[redacted]' });
    expect(log.text()).not.toContain(operator);
  });
});

describe('protected probes', () => {
  let protectedApi: ApiService;

  beforeAll(async () => {
    protectedApi = await startSecuredApi({ security: tokenSecurity(tokens, { healthAccess: 'token', metricsAccess: 'token' }), temporal: engine.temporal, mongo: engine.mongo });
  });

  afterAll(async () => {
    await protectedApi?.stop();
  });

  it('require a token for health, readiness and metrics when configured', async () => {
    for (const path of ['/health', '/ready', '/metrics']) {
      expect([path, (await send(protectedApi.url, 'GET', path)).status]).toEqual([path, 401]);
      expect([path, (await send(protectedApi.url, 'GET', path, { token: newToken() })).status]).toEqual([path, 401]);
      expect([path, (await send(protectedApi.url, 'GET', path, { token: read })).status]).toEqual([path, 200]);
    }
  });
});

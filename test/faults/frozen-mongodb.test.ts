import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import { startApiService, type ApiService } from '../../api/api-service';
import { startFerretdbServer, type FerretdbServerHandle } from '../../dev-stack/servers/ferretdb';
import { testTemporalSettings } from '../api-security/secured-api';
import { callApi, TEST_UPGRADE_DEFAULTS } from '../support/engine-harness';

// The API against its own FerretDB, frozen with SIGSTOP while its connections stay open. The API
// promises a 503 within 10 s. With the driver's default timeouts the first request waited up to 70 s.

let ferretdb: FerretdbServerHandle;
let api: ApiService;

beforeAll(async () => {
  const dataDir = path.join(process.env.OTA_TEST_DATA_DIR ?? '/tmp', `ferretdb-frozen-${randomUUID().slice(0, 8)}`);
  ferretdb = await startFerretdbServer({ dataDir });
  api = await startApiService({
    http: { host: '127.0.0.1', port: 0 },
    temporal: testTemporalSettings(),
    mongo: { url: ferretdb.url, database: 'ota_frozen' },
    defaults: TEST_UPGRADE_DEFAULTS,
    logger: pino({ level: 'silent' }),
  });
}, 60_000);

afterAll(async () => {
  if (ferretdb?.pid !== undefined) process.kill(ferretdb.pid, 'SIGCONT');
  await api?.stop();
  await ferretdb?.stop();
}, 60_000);

/** Sends a GET request, aborting it after `limitMs`. */
async function getWithin(apiPath: string, limitMs: number): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api.url}${apiPath}`, { signal: AbortSignal.timeout(limitMs) });
  return { status: response.status, body: await response.json() };
}

describe('API with a frozen MongoDB', () => {
  it('answers 503 within 10 s', async () => {
    expect((await callApi({ apiUrl: api.url }, 'GET', '/devices/lamp/unknown')).status).toBe(404);

    process.kill(ferretdb.pid!, 'SIGSTOP');
    try {
      // Twice: the first request waits on an open connection, the second on a new one.
      for (const deviceName of ['first', 'second']) {
        // The limit leaves room for a loaded machine and is still far below the 42 to 70 s seen before.
        const response = await getWithin(`/devices/lamp/${deviceName}`, 20_000);
        expect(response.status).toBe(503);
        expect(response.body.message).toMatch(/^MongoDB did not answer in time/);
      }
    } finally {
      process.kill(ferretdb.pid!, 'SIGCONT');
    }

    // The API recovers once the server runs again.
    expect((await callApi({ apiUrl: api.url }, 'GET', '/devices/lamp/unknown')).status).toBe(404);
  }, 90_000);
});

import { performOta, type PerformOtaOptions } from '../../device-sim/samples/perform-ota';
import { FakeOtaApi, type FakeReply } from './fake-ota-api';

/** Builds a GET /ota reply in the API's shape: the latest report and the latest upgrade workflow. */
function otaReply(report: { version: string | null; progress: number | null }, upgrade: { status: string; state: Record<string, unknown> | null }): FakeReply {
  return {
    status: 200,
    body: { ...report, type: report.version === null ? null : 'firmware', desc: null, upgrade: { workflowId: 'upgrade:IotApp:dev-00001', runId: 'run-1', ...upgrade } },
  };
}

function progress(version: string, value: number, phase = 'downloading'): FakeReply {
  return otaReply({ version, progress: value }, { status: 'RUNNING', state: { phase, attempt: 1, failureReason: null } });
}

function deviceVersion(version: string): FakeReply {
  return { status: 200, body: { product_name: 'p', device_name: 'd', device_status: { firmware_ver: version } } };
}

describe('performOta sample', () => {
  let api: FakeOtaApi;
  let lines: string[];
  let errors: string[];

  beforeEach(async () => {
    api = new FakeOtaApi();
    await api.start();
    lines = [];
    errors = [];
  });

  afterEach(async () => {
    await api.stop();
  });

  function run(overrides: Partial<PerformOtaOptions> = {}) {
    return performOta({
      apiUrl: api.url,
      productName: 'IotApp',
      deviceName: 'dev-00001',
      pollIntervalMs: 5,
      timeoutMs: 5000,
      print: (line) => lines.push(line),
      printError: (line) => errors.push(line),
      ...overrides,
    });
  }

  it('prints the demo lines of a successful upgrade', async () => {
    api.otaReplies = [
      { status: 404, body: {} },
      otaReply({ version: null, progress: null }, { status: 'RUNNING', state: null }),
      progress('1.0', 100, 'downloading'),
      progress('1.1', 0),
      progress('1.1', 40),
      progress('1.1', 100, 'verifying'),
    ];
    api.deviceReplies = [deviceVersion('1.0'), deviceVersion('1.0'), deviceVersion('1.1')];

    const outcome = await run();

    expect(outcome).toEqual({ status: 'completed' });
    expect(lines).toEqual([
      'statusCode: 200',
      'current progress:0%',
      'current progress:40%',
      'current progress:100%',
      'current version:1.0',
      'current version:1.0',
      'current version:1.1',
      'upgrade completed',
    ]);
    expect(errors).toEqual([]);
  });

  it('posts the demo form', async () => {
    api.otaReplies = [progress('1.1', 100, 'verifying')];
    api.deviceReplies = [deviceVersion('1.1')];
    await run();

    const post = api.requests[0]!;
    expect(post.method).toBe('POST');
    expect(post.path).toBe('/ota/IotApp/dev-00001');
    expect(post.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(post.body))).toEqual({
      type: 'firmware',
      url: 'http://firmware.example/1.1.pkg',
      version: '1.1',
      size: '1000',
      md5: 'c4ca4238a0b923820dcc509a6f75849b',
    });
    expect(api.requests.slice(1).map((request) => `${request.method} ${request.path}`)).toEqual(['GET /ota/IotApp/dev-00001', 'GET /devices/IotApp/dev-00001']);
  });

  it('stops on a rejected request', async () => {
    api.postReply = { status: 400, body: { error: 'md5 must be 32 hexadecimal digits' } };
    const outcome = await run({ firmware: { md5: 'abc' } });

    expect(outcome.status).toBe('rejected');
    expect(lines).toEqual(['statusCode: 400']);
    expect(errors[0]).toMatch(/upgrade request failed with HTTP 400: .*md5 must be 32 hexadecimal digits/);
    expect(api.requests).toHaveLength(1);
  });

  it('gives up when the upgrade failed', async () => {
    api.otaReplies = [
      progress('1.1', 20),
      otaReply({ version: '1.1', progress: -1 }, { status: 'FAILED', state: { phase: 'failed', attempt: 3, failureReason: 'download_error' } }),
    ];
    const outcome = await run();

    expect(outcome.status).toBe('failed');
    expect(lines).toEqual(['statusCode: 200', 'current progress:20%']);
    expect(errors).toEqual(['upgrade to version 1.1 failed after 3 attempt(s): download_error']);
  });

  it('gives up when the upgrade fails during verification', async () => {
    api.otaReplies = [progress('1.1', 100, 'verifying'), otaReply({ version: '1.1', progress: 100 }, { status: 'RUNNING', state: { phase: 'failed', failureReason: 'version_mismatch' } })];
    api.deviceReplies = [deviceVersion('1.0')];
    const outcome = await run();

    expect(outcome.status).toBe('failed');
    expect(lines).toEqual(['statusCode: 200', 'current progress:100%', 'current version:1.0']);
    expect(errors).toEqual(['upgrade to version 1.1 failed: version_mismatch']);
  });

  it('gives up when the workflow was terminated', async () => {
    api.otaReplies = [otaReply({ version: '1.1', progress: 40 }, { status: 'TERMINATED', state: null })];
    const outcome = await run();

    expect(outcome.status).toBe('failed');
    expect(errors).toEqual(['upgrade to version 1.1 ended with workflow status TERMINATED: no reason given']);
  });

  it('moves on when the upgrade completed before progress 100 arrived', async () => {
    api.otaReplies = [progress('1.1', 60), otaReply({ version: '1.1', progress: 80 }, { status: 'COMPLETED', state: { phase: 'succeeded', attempt: 1 } })];
    api.deviceReplies = [deviceVersion('1.1')];
    const outcome = await run();

    expect(outcome).toEqual({ status: 'completed' });
    expect(lines).toEqual(['statusCode: 200', 'current progress:60%', 'current progress:80%', 'current version:1.1', 'upgrade completed']);
  });

  it('times out without progress', async () => {
    const outcome = await run({ timeoutMs: 100 });
    expect(outcome.status).toBe('timed_out');
    expect(errors[0]).toBe('timed out waiting for the download of version 1.1; last progress: none');
  });

  it('reports an unreachable API', async () => {
    const outcome = await run({ apiUrl: 'http://127.0.0.1:9' });
    expect(outcome.status).toBe('failed');
    expect(errors[0]).toMatch(/^could not reach the API at http:\/\/127\.0\.0\.1:9\/ota\/IotApp\/dev-00001: /);
  });

  it('fails on a server error while polling', async () => {
    api.otaReplies = [{ status: 500, body: { error: 'boom' } }];
    const outcome = await run();
    expect(outcome.status).toBe('failed');
    expect(errors[0]).toBe('GET /ota/IotApp/dev-00001 failed with HTTP 500: {"error":"boom"}');
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { CampaignJson } from '../../cli/api-types';
import type { CampaignView } from '../../workflows/campaign-types';
import { runCli, unusedPort } from './run-cli';

// The CLI against stub HTTP servers on 127.0.0.1, for responses the real API sends rarely or never:
// error pages of a proxy, stalls, bodies of another service, and failures that pass.

interface RecordedRequest {
  method: string;
  url: string;
  body: string;
}

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

let server: Server;
let apiUrl: string;
let handler: Handler;
let requests: RecordedRequest[];
const hangingResponses: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', body });
      handler(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('stub server has no port');
  apiUrl = `http://127.0.0.1:${address.port}`;
});

beforeEach(() => {
  requests = [];
});

afterAll(async () => {
  for (const response of hangingResponses) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function campaignView(state: CampaignView['state'], percentDone: number): CampaignView {
  return {
    campaignId: 'c1',
    productName: 'demo',
    targetVersion: '1.1',
    state,
    round: 1,
    counts: { total: 4, started: 4, succeeded: Math.round(percentDone / 25), failed: 0, timedOut: 0, skipped: 0, cancelled: 0 },
    inFlight: 0,
    notStarted: 0,
    percentDone,
    abortReason: state === 'aborted' ? 'first wave failed' : null,
    firstWave: null,
    startAt: null,
    startedAt: 1_000,
    endedAt: state === 'running' ? null : 61_000,
    duplicateReports: 0,
    runNumber: 1,
  };
}

function campaign(view: CampaignView | null, workflowStatus: string | null): CampaignJson {
  return {
    id: 'c1',
    workflowId: 'campaign:c1',
    productName: 'demo',
    firmware: { type: 'firmware', url: 'https://firmware.example/1.1.pkg', version: '1.1', size: 1, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
    target: { kind: 'all' },
    createdAt: '2026-12-24T08:00:00.000Z',
    view,
    workflowStatus,
  };
}

describe('API client errors', () => {
  it('reports an unreachable API', async () => {
    const port = await unusedPort();
    const result = await runCli(['campaign', 'list', '--api', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`ota: could not reach the API at http://127.0.0.1:${port}: connection refused; is the stack running? set --api or OTA_API_URL\n`);
  });

  it('times out a request that gets no answer', async () => {
    handler = (_request, response) => hangingResponses.push(response);
    const started = Date.now();
    const result = await runCli(['campaign', 'show', 'c1', '--api', apiUrl, '--timeout-ms', '300']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ota: GET /campaigns/c1 timed out: the API at ${apiUrl} did not respond within 300 ms; check that it and its Temporal and MongoDB servers run, or raise --timeout-ms\n`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops a request on Ctrl-C', async () => {
    handler = (_request, response) => hangingResponses.push(response);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runCli(['campaign', 'show', 'c1', '--api', apiUrl], { signal: controller.signal });
    expect(result.code).toBe(130);
    expect(result.stderr).toBe('ota: interrupted\n');
  });

  it('prints the field list of a 400', async () => {
    handler = (_request, response) =>
      sendJson(response, 400, {
        error: 'invalid request',
        message: 'upgrade.maxBackoffMs: too small; firmware.md5: invalid',
        fields: [
          { field: 'upgrade.maxBackoffMs', message: 'too small' },
          { field: 'firmware.md5', message: 'invalid' },
        ],
      });
    const result = await runCli(['upgrade', 'show', 'demo', 'dev-1', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('ota: GET /ota/demo/dev-1 failed with 400 (invalid request):\n  upgrade.maxBackoffMs: too small\n  firmware.md5: invalid\n');
  });

  it('prints the message of a 409', async () => {
    handler = (_request, response) => sendJson(response, 409, { error: 'conflict', message: 'cannot pause a campaign in state completed' });
    const result = await runCli(['campaign', 'pause', 'c1', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('ota: POST /campaigns/c1/pause failed with 409 (conflict): cannot pause a campaign in state completed\n');
    expect(requests).toEqual([{ method: 'POST', url: '/campaigns/c1/pause', body: '' }]);
  });

  it('prints the start of an error page', async () => {
    handler = (_request, response) => response.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>\n  Bad gateway: upstream down\n</body></html>');
    const result = await runCli(['campaign', 'list', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('ota: GET /campaigns failed with 502 (Bad Gateway): <html><body> Bad gateway: upstream down </body></html>\n');
  });

  it('rejects a success that is not JSON', async () => {
    handler = (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>welcome</html>');
    const result = await runCli(['campaign', 'list', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `ota: GET /campaigns returned status 200 with a body that is not JSON (text/html); check that ${apiUrl} is the OTA campaign API (set --api or OTA_API_URL)\n`,
    );
  });

  it('rejects JSON of another shape', async () => {
    handler = (_request, response) => sendJson(response, 200, { items: [] });
    const result = await runCli(['campaign', 'list', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("GET /campaigns returned a JSON body without 'campaigns', 'next'");
  });
});

describe('API client requests', () => {
  it('keeps a path prefix and encodes the query', async () => {
    handler = (_request, response) => sendJson(response, 200, { devices: [], next: null });
    const result = await runCli(['campaign', 'devices', 'c1', '--outcome', 'failed', '--limit', '5', '--after', 'dev 1', '--api', `${apiUrl}/ota-api/`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('no devices with outcome failed recorded after dev 1\n');
    expect(requests.map((request) => request.url)).toEqual(['/ota-api/campaigns/c1/devices?outcome=failed&limit=5&after=dev+1']);
  });

  it('takes the URL from OTA_API_URL', async () => {
    handler = (_request, response) => sendJson(response, 200, { campaigns: [], next: null });
    const result = await runCli(['campaign', 'list'], { env: { OTA_API_URL: apiUrl } });
    expect(result).toEqual({ code: 0, stdout: 'no campaigns\n', stderr: '' });
  });

  it('prints the raw response with --json', async () => {
    const body = { campaigns: [campaign(campaignView('running', 50), null)], next: 'cursor-2' };
    handler = (_request, response) => sendJson(response, 200, body);
    const result = await runCli(['campaign', 'list', '--json', '--api', apiUrl]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(body);
  });

  it('prints the next page of a list', async () => {
    handler = (_request, response) => sendJson(response, 200, { campaigns: [campaign(campaignView('running', 50), null)], next: 'cursor-2' });
    const result = await runCli(['campaign', 'list', '--limit', '1', '--api', apiUrl]);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('next page: ota campaign list --limit 1 --before cursor-2');
  });

  it('sends the firmware of a single upgrade', async () => {
    handler = (_request, response) => sendJson(response, 200, { workflowId: 'upgrade:demo:dev-1', runId: 'run-1' });
    const result = await runCli([
      'upgrade', 'start', 'demo', 'dev-1', '--api', apiUrl,
      '--version', '1.1', '--url', 'https://firmware.example/1.1.pkg', '--size', '1000', '--md5', 'c4ca4238a0b923820dcc509a6f75849b',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('started the upgrade of demo/dev-1 to firmware 1.1: workflow upgrade:demo:dev-1, run run-1');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe('/ota/demo/dev-1');
    expect(JSON.parse(requests[0]!.body)).toEqual({ type: 'firmware', url: 'https://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' });
  });

  it('sends nothing for a usage error', async () => {
    handler = (_request, response) => sendJson(response, 200, {});
    const result = await runCli(['campaign', 'show', 'a:b', '--api', apiUrl]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("ota: invalid campaign ID 'a:b': campaign id may contain only letters, digits, '_', '.' and '-'\nrun 'ota campaign --help' for usage\n");
    expect(requests).toEqual([]);
  });
});

describe('campaign watch against a stub', () => {
  it('retries reads that fail after the first', async () => {
    const answers: ((response: ServerResponse) => void)[] = [
      (response) => sendJson(response, 200, campaign(campaignView('running', 25), 'RUNNING')),
      (response) => sendJson(response, 503, { error: 'service unavailable', message: 'Temporal did not answer in time; try again later' }),
      (response) => sendJson(response, 200, campaign(campaignView('running', 75), 'CONTINUED_AS_NEW')),
      (response) => sendJson(response, 200, campaign(campaignView('completed', 100), 'COMPLETED')),
    ];
    handler = (_request, response) => answers.shift()!(response);
    const result = await runCli(['campaign', 'watch', 'c1', '--interval-ms', '100', '--api', apiUrl]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'ota: reading campaign c1 failed (1 of 5 tries in a row), trying again: GET /campaigns/c1 failed with 503 (service unavailable): Temporal did not answer in time; try again later\n',
    );
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\S+Z c1 running 25% done; succeeded 1,/);
    expect(lines[1]).toMatch(/^\S+Z c1 running 75% done; succeeded 3,/);
    expect(lines[2]).toMatch(/^\S+Z c1 completed 100% done; succeeded 4,/);
    expect(lines[3]).toBe('campaign c1 completed: succeeded 4, failed 0, timed out 0, skipped 0, cancelled 0 (100% done, took 1m 00s)');
  });

  it('fails for a retry round that left devices unstarted', async () => {
    const view = { ...campaignView('completed', 50), round: 2, notStarted: 2 };
    handler = (_request, response) => sendJson(response, 200, campaign(view, 'COMPLETED'));
    const result = await runCli(['campaign', 'watch', 'c1', '--interval-ms', '100', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(
      'campaign c1 completed round 2, but 2 devices were never started, because an earlier round stopped early; succeeded 2, failed 0, timed out 0, skipped 0, cancelled 0 (50% done, took 1m 00s)',
    );
  });

  it('gives up after repeated failures', async () => {
    let reads = 0;
    handler = (_request, response) => {
      reads += 1;
      if (reads === 1) sendJson(response, 200, campaign(campaignView('running', 25), 'RUNNING'));
      else sendJson(response, 500, { error: 'internal error', message: 'the request failed; see the API log for details' });
    };
    const result = await runCli(['campaign', 'watch', 'c1', '--interval-ms', '100', '--api', apiUrl]);
    expect(result.code).toBe(1);
    expect(reads).toBe(6);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('ota: GET /campaigns/c1 failed with 500 (internal error): the request failed; see the API log for details');
  });

  it('fails at once when the first read fails', async () => {
    handler = (_request, response) => sendJson(response, 404, { error: 'not found', message: 'campaign c1 not found' });
    const result = await runCli(['campaign', 'watch', 'c1', '--interval-ms', '100', '--api', apiUrl]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'ota: GET /campaigns/c1 failed with 404 (not found): campaign c1 not found\n' });
  });

  it('exits 1 for an aborted campaign and a terminated workflow', async () => {
    handler = (_request, response) => sendJson(response, 200, campaign(campaignView('aborted', 50), 'COMPLETED'));
    const aborted = await runCli(['campaign', 'watch', 'c1', '--api', apiUrl]);
    expect(aborted.code).toBe(1);
    expect(aborted.stdout).toContain('campaign c1 aborted: first wave failed; succeeded 2,');

    handler = (_request, response) => sendJson(response, 200, campaign(campaignView('running', 50), 'TERMINATED'));
    const terminated = await runCli(['campaign', 'watch', 'c1', '--api', apiUrl]);
    expect(terminated.code).toBe(1);
    expect(terminated.stdout).toContain('campaign c1 did not complete: its workflow ended as TERMINATED in state running;');
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ApiService } from '../../api/api-service';
import { usageText } from '../../cli/usage';
import { runCli } from '../cli/run-cli';
import { newToken, startSecuredApi, testTokens, tokenSecurity } from './secured-api';

// The `ota` command's --token and OTA_API_TOKEN against the real API with tokens, and against a stub
// server for what the API never does: echo headers and redirect.

const { read, operator, tokens } = testTokens();
let api: ApiService;

beforeAll(async () => {
  api = await startSecuredApi({ security: tokenSecurity(tokens) });
});

afterAll(async () => {
  await api?.stop();
});

describe('ota with an API that requires tokens', () => {
  it('sends the token of OTA_API_TOKEN', async () => {
    const result = await runCli(['campaign', 'list', '--json'], { env: { OTA_API_URL: api.url, OTA_API_TOKEN: read } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveProperty('campaigns');
  });

  it('prefers --token to OTA_API_TOKEN', async () => {
    const result = await runCli(['campaign', 'list', '--token', operator], { env: { OTA_API_URL: api.url, OTA_API_TOKEN: newToken() } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('says that a token is required when none was given', async () => {
    const result = await runCli(['campaign', 'list'], { env: { OTA_API_URL: api.url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "ota: the API requires a token: this request requires a bearer token: send the header 'Authorization: Bearer <token>' (GET /campaigns, 401); set OTA_API_TOKEN or --token\n",
    );
  });

  it('says that the token was rejected without printing it', async () => {
    const wrong = `${read.slice(0, -1)}${read.at(-1) === '0' ? '1' : '0'}`;
    const result = await runCli(['campaign', 'list'], { env: { OTA_API_URL: api.url, OTA_API_TOKEN: wrong } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ota: the API rejected the token: the bearer token is not valid');
    expect(result.stderr).toContain('check --token or OTA_API_TOKEN');
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });

  it('names the role a read token lacks', async () => {
    const result = await runCli(['campaign', 'pause', 'lamps-1.1'], { env: { OTA_API_URL: api.url, OTA_API_TOKEN: read } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ota: the API rejected the token: POST /campaigns/:id/pause requires role operator, but token 'dashboard' has role read");
    expect(result.stdout + result.stderr).not.toContain(read);
  });

  it('rejects a token with invalid characters without printing it', async () => {
    const invalid = `${newToken()} extra`;
    const result = await runCli(['campaign', 'list', '--token', invalid], { env: { OTA_API_URL: api.url } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid token from --token');
    expect(result.stderr).not.toContain(invalid.slice(0, 20));
  });

  it('documents --token and OTA_API_TOKEN in the help', () => {
    for (const topic of ['main', 'campaign', 'upgrade'] as const) {
      expect(usageText(topic)).toContain("--token TOKEN        bearer token of the API, sent as 'Authorization: Bearer' (default: OTA_API_TOKEN");
    }
  });
});

describe('ota against a stub server', () => {
  let server: Server;
  let url: string;
  let handler: (request: IncomingMessage, response: ServerResponse) => void;
  let received: IncomingMessage[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push(request);
      handler(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('stub server has no port');
    url = `http://127.0.0.1:${address.port}`;
  });

  beforeEach(() => {
    received = [];
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const listBody = JSON.stringify({ campaigns: [], next: null });

  it('sends the header Authorization: Bearer', async () => {
    handler = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(listBody);
    const token = newToken();
    expect((await runCli(['campaign', 'list'], { env: { OTA_API_URL: url, OTA_API_TOKEN: token } })).code).toBe(0);
    expect(received[0]!.headers.authorization).toBe(`Bearer ${token}`);
  });

  it('sends no Authorization header without a token', async () => {
    handler = (_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(listBody);
    expect((await runCli(['campaign', 'list'], { env: { OTA_API_URL: url, OTA_API_TOKEN: '' } })).code).toBe(0);
    expect(received[0]!.headers.authorization).toBeUndefined();
  });

  it('does not follow a redirect while it sends a token', async () => {
    handler = (request, response) => {
      if (request.url === '/campaigns?limit=20' || request.url === '/campaigns') response.writeHead(302, { location: `${url}/elsewhere` }).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(listBody);
    };
    const result = await runCli(['campaign', 'list'], { env: { OTA_API_URL: url, OTA_API_TOKEN: newToken() } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`a redirect (302) to ${url}/elsewhere, which the CLI does not follow while it sends a token`);
    expect(received.map((request) => request.url)).not.toContain('/elsewhere');
  });

  it('removes the token from an error page that echoes it', async () => {
    handler = (request, response) => response.writeHead(500, { 'content-type': 'text/html' }).end(`<h1>Proxy error</h1> header was ${request.headers.authorization}`);
    const token = newToken();
    const result = await runCli(['campaign', 'list'], { env: { OTA_API_URL: url, OTA_API_TOKEN: token } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('header was Bearer [token]');
    expect(result.stderr).not.toContain(token);
  });
});

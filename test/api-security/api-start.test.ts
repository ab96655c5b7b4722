import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { startApiService } from '../../api/api-service';
import { ConfigError } from '../../config/env';
import { TEST_UPGRADE_DEFAULTS } from '../support/engine-harness';
import { requiredEnv } from '../support/worker-harness';
import { newToken, send, testTemporalSettings } from './secured-api';

// The API process (api/main.ts through tsx) as an operator starts it: with tokens, with authentication
// disabled on purpose, and with settings it must reject.

const ROOT = path.resolve(__dirname, '../..');

interface RunningProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startApiProcess(env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      TEMPORAL_ADDRESS: requiredEnv('TEMPORAL_ADDRESS'),
      MONGO_URL: requiredEnv('MONGO_URL'),
      MONGO_DB: 'ota_api_start',
      HTTP_PORT: '0',
      ...env,
    },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killTimer);
      resolve(code);
    });
  });
  return { child, output: () => output, exited };
}

/** Waits for the process's 'API started' line and returns its URL. */
async function startedUrl(running: RunningProcess): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const line = running
      .output()
      .split('\n')
      .find((candidate) => candidate.includes('"msg":"API started"'));
    if (line !== undefined) return (JSON.parse(line) as { url: string }).url;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the API did not start within 30 s; its output:\n${running.output()}`);
}

async function stop(running: RunningProcess): Promise<void> {
  running.child.kill('SIGTERM');
  await running.exited;
}

describe('API process start', () => {
  it('rejects a start without tokens, naming the settings', async () => {
    const running = startApiProcess({});
    expect(await running.exited).toBe(2);
    expect(running.output()).toContain('the API has no tokens: set API_TOKENS (name:role:token,...) or API_TOKENS_FILE');
    expect(running.output()).toContain('set API_AUTH=disabled to run the API without authentication on purpose');
  });

  it('rejects a short token without printing it', async () => {
    const short = 'tooShortToken-123';
    const running = startApiProcess({ API_TOKENS: `ci:operator:${short}` });
    expect(await running.exited).toBe(2);
    expect(running.output()).toContain("invalid configuration: API_TOKENS entry 1: token 'ci' has 17 characters, but at least 32 are required");
    expect(running.output()).not.toContain(short);
  });

  it('names HTTP_PORT when the port is taken', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const running = startApiProcess({ API_AUTH: 'disabled', HTTP_PORT: String(port) });
      expect(await running.exited).toBe(1);
      expect(running.output()).toContain(`cannot serve the API: port ${port} on 127.0.0.1 (HTTP_PORT) is already in use`);
    } finally {
      busy.close();
    }
  });

  it('rejects an HTTP_HOST of another machine', async () => {
    const running = startApiProcess({ API_AUTH: 'disabled', HTTP_HOST: '192.0.2.1' });
    expect(await running.exited).toBe(2);
    expect(running.output()).toContain("invalid configuration: HTTP_HOST: cannot listen on '192.0.2.1' (EADDRNOTAVAIL)");
  });

  it('starts with tokens and logs their names only', async () => {
    const token = newToken();
    const running = startApiProcess({ API_TOKENS: `grafana:read:${token}` });
    try {
      const url = await startedUrl(running);
      expect((await send(url, 'GET', '/campaigns')).status).toBe(401);
      expect((await send(url, 'GET', '/campaigns', { token })).status).toBe(200);
      expect((await send(url, 'GET', '/health')).status).toBe(200);
    } finally {
      await stop(running);
    }
    expect(running.output()).toContain('"principals":[{"name":"grafana","role":"read"}]');
    expect(running.output()).toContain('"principal":"grafana"');
    expect(running.output()).not.toContain(token);
  });

  it('starts without authentication with API_AUTH=disabled and warns', async () => {
    const running = startApiProcess({ API_AUTH: 'disabled' });
    try {
      const url = await startedUrl(running);
      expect((await send(url, 'GET', '/campaigns')).status).toBe(200);
    } finally {
      await stop(running);
    }
    const warning = running
      .output()
      .split('\n')
      .find((line) => line.includes('API authentication is disabled (API_AUTH=disabled)'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!).level).toBe(40);
  });
});

describe('startApiService', () => {
  it('rejects settings without tokens before connecting', async () => {
    const started = Date.now();
    // Nothing listens on port 1, so a connection attempt would take the driver's 30 s server selection timeout.
    const attempt = startApiService({
      http: { host: '127.0.0.1', port: 0 },
      temporal: testTemporalSettings(),
      mongo: { url: 'mongodb://127.0.0.1:1', database: 'unused' },
      defaults: TEST_UPGRADE_DEFAULTS,
      logger: pino({ level: 'silent' }),
      security: { auth: { mode: 'tokens', tokens: [] }, healthAccess: 'open', metricsAccess: 'open', rateLimit: { perSecond: 50, burst: 100 } },
    });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow('the API has no tokens');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

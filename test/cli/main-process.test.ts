import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { unusedPort } from './run-cli';

// The `ota` entry point as its own process, through tsx, for what only a process has: the SIGINT
// handler, the exit status and the streams.

const ROOT = path.resolve(__dirname, '../..');

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs cli/main.ts; `onStdout` may send the process a signal once some output arrived. */
function runProcess(argv: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<ProcessResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...argv], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, child);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A CLI that ignores SIGINT would otherwise outlive the test run.
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let server: Server;
let apiUrl: string;

beforeAll(async () => {
  // A campaign that keeps running, so `watch` stops only on SIGINT.
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: 'c1',
        workflowId: 'campaign:c1',
        productName: 'demo',
        firmware: { type: 'firmware', url: 'https://firmware.example/1.1.pkg', version: '1.1', size: 1, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
        target: { kind: 'all' },
        createdAt: '2026-12-24T08:00:00.000Z',
        view: null,
        workflowStatus: 'RUNNING',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('stub server has no port');
  apiUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('ota process', () => {
  it('stops watching on SIGINT with exit code 130', async () => {
    let sent = false;
    const result = await runProcess(['campaign', 'watch', 'c1', '--interval-ms', '100', '--api', apiUrl], (_text, child) => {
      if (sent) return;
      sent = true;
      child.kill('SIGINT');
    });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/^\S+Z c1 waiting for the campaign to report its state\n$/);
    expect(result.stderr).toBe('stopped watching campaign c1; the campaign itself keeps running. Watch it again with: ota campaign watch c1\n');
  });

  it('exits 1 without a stack trace when the API is down', async () => {
    const port = await unusedPort();
    const result = await runProcess(['campaign', 'list', '--api', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`ota: could not reach the API at http://127.0.0.1:${port}: connection refused; is the stack running? set --api or OTA_API_URL\n`);
  });

  it('prints help with exit code 0 and usage errors with 2', async () => {
    const help = await runProcess(['campaign', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('watch ID [--interval-ms N]');

    const usage = await runProcess(['campaign', 'frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe(
      "ota: unknown campaign command 'frobnicate': expected one of start, list, show, pause, resume, cancel, retry-failed, devices, watch\nrun 'ota campaign --help' for usage\n",
    );
  });
});

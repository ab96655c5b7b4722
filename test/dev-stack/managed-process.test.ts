import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ManagedProcess, StartAbortedError } from '../../dev-stack/managed-process';

const neverReady = () => Promise.reject(new Error('not ready'));

function processGroupOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

describe('ManagedProcess', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ota-managed-process-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('failure shows only the latest run', async () => {
    const firstRun = new ManagedProcess({ name: 'server', command: '/bin/sh', args: ['-c', 'echo first run output; exit 3'], dataDir, probeReady: neverReady });
    await expect(firstRun.start()).rejects.toThrow(/first run output/);

    const secondRun = new ManagedProcess({ name: 'server', command: '/bin/sh', args: ['-c', 'echo second run output; exit 4'], dataDir, probeReady: neverReady });
    const failure = secondRun.start();

    await expect(failure).rejects.toThrow(/exited before it became ready \(exit code 4, signal null\)/);
    await expect(failure).rejects.toThrow(/last lines of .*server\.log:\nsecond run output$/);
    await expect(failure).rejects.not.toThrow(/first run output/);
    // The log file itself keeps both runs.
    const log = await readFile(path.join(dataDir, 'server.log'), 'utf8');
    expect(log).toContain('first run output');
    expect(log).toContain('second run output');
  });

  test('detached process leads its own group', async () => {
    const server = await ManagedProcess.start({ name: 'sleeper', command: '/bin/sleep', args: ['60'], dataDir, probeReady: async () => undefined, detached: true });
    try {
      const pid = server.pid!;
      expect(processGroupOf(pid)).toBe(pid);
      expect(processGroupOf(pid)).not.toBe(processGroupOf(process.pid));
    } finally {
      await server.stop();
    }
    expect(server.isRunning).toBe(false);
  });

  test('attached process shares the parent group', async () => {
    const server = await ManagedProcess.start({ name: 'sleeper', command: '/bin/sleep', args: ['60'], dataDir, probeReady: async () => undefined });
    try {
      expect(processGroupOf(server.pid!)).toBe(processGroupOf(process.pid));
    } finally {
      await server.stop();
    }
  });

  test('abort ends a start promptly', async () => {
    const controller = new AbortController();
    const server = new ManagedProcess({
      name: 'slow-server',
      command: '/bin/sleep',
      args: ['60'],
      dataDir,
      probeReady: neverReady,
      startTimeoutMs: 30_000,
      detached: true,
      signal: controller.signal,
    });

    const startedAt = Date.now();
    const starting = server.start();
    setTimeout(() => controller.abort(), 200);

    await expect(starting).rejects.toThrow(new StartAbortedError('slow-server'));
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(server.isRunning).toBe(false);
  });

  test('aborted signal prevents the spawn', async () => {
    const controller = new AbortController();
    controller.abort();
    const server = new ManagedProcess({ name: 'server', command: '/bin/sleep', args: ['60'], dataDir, probeReady: neverReady, signal: controller.signal });

    await expect(server.start()).rejects.toBeInstanceOf(StartAbortedError);
    expect(server.pid).toBeUndefined();
  });
});

import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatStartHeader, readLatestRunTail } from '../../dev-stack/server-log';

describe('readLatestRunTail', () => {
  let dir: string;
  let logPath: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ota-server-log-'));
    logPath = path.join(dir, 'server.log');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('returns only the latest run', () => {
    writeFileSync(logPath, formatStartHeader('/bin/server', ['--port', '1']));
    appendFileSync(logPath, 'old run line 1\nold run line 2\n');
    appendFileSync(logPath, formatStartHeader('/bin/server', ['--port', '1']));
    appendFileSync(logPath, 'bind: address already in use\n');

    expect(readLatestRunTail(logPath, 30)).toBe('bind: address already in use');
  });

  test('returns nothing for a run without output', () => {
    writeFileSync(logPath, `${formatStartHeader('/bin/server', [])}old line\n${formatStartHeader('/bin/server', [])}`);

    expect(readLatestRunTail(logPath, 30)).toBe('');
  });

  test('limits the latest run to the line count', () => {
    const lines = Array.from({ length: 50 }, (_, index) => `line ${index + 1}`);
    writeFileSync(logPath, `${formatStartHeader('/bin/server', [])}${lines.join('\n')}\n`);

    expect(readLatestRunTail(logPath, 3)).toBe('line 48\nline 49\nline 50');
  });

  test('returns the last lines of a file without header', () => {
    writeFileSync(logPath, 'first\nsecond\nthird\n');

    expect(readLatestRunTail(logPath, 2)).toBe('second\nthird');
  });

  test('reads a large log from its end', () => {
    // More than the 256 KiB read window before the latest header, and a long run after it.
    const filler = `${'x'.repeat(99)}\n`.repeat(5_000);
    writeFileSync(logPath, `${formatStartHeader('/bin/server', [])}${filler}`);
    appendFileSync(logPath, formatStartHeader('/bin/server', []));
    appendFileSync(logPath, `${'y'.repeat(99)}\n`.repeat(5_000));
    appendFileSync(logPath, 'last line\n');

    const tail = readLatestRunTail(logPath, 2);

    expect(tail).toBe(`${'y'.repeat(99)}\nlast line`);
  });

  test('throws for a missing file', () => {
    expect(() => readLatestRunTail(path.join(dir, 'missing.log'), 5)).toThrow(/ENOENT/);
  });
});

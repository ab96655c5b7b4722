import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openFileLogger } from '../../observability/logger';

describe('openFileLogger', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ota-file-logger-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('close writes every line', async () => {
    const logPath = path.join(dir, 'logs', 'engine.log');
    const fileLogger = await openFileLogger(logPath, 'info');

    for (let index = 0; index < 5_000; index += 1) fileLogger.logger.info({ index }, 'line');
    await fileLogger.close();

    const lines = (await readFile(logPath, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(5_000);
    expect(JSON.parse(lines[4_999]!)).toMatchObject({ index: 4_999, msg: 'line' });
  });

  test('drops lines after close', async () => {
    const logPath = path.join(dir, 'engine.log');
    const fileLogger = await openFileLogger(logPath, 'info');
    const child = fileLogger.logger.child({ service: 'worker' });
    fileLogger.logger.info('before close');
    await fileLogger.close();

    expect(() => child.info('after close')).not.toThrow();
    expect(() => fileLogger.logger.warn('after close')).not.toThrow();
    expect(await readFile(logPath, 'utf8')).not.toContain('after close');
  });

  test('redacts passwords', async () => {
    const logPath = path.join(dir, 'engine.log');
    const fileLogger = await openFileLogger(logPath, 'info');

    fileLogger.logger.info({ mqtt: { url: 'mqtt://127.0.0.1:1883', password: 'secret-value' } }, 'settings');
    await fileLogger.close();

    const text = await readFile(logPath, 'utf8');
    expect(text).not.toContain('secret-value');
    expect(text).toContain('[redacted]');
  });

  test('respects the level', async () => {
    const logPath = path.join(dir, 'engine.log');
    const fileLogger = await openFileLogger(logPath, 'warn');

    fileLogger.logger.info('hidden');
    fileLogger.logger.warn('shown');
    await fileLogger.close();

    const text = await readFile(logPath, 'utf8');
    expect(text).not.toContain('hidden');
    expect(text).toContain('shown');
  });
});

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findFreePorts } from '../../dev-stack/ports';
import { compileWithTsc, PROJECT_ROOT } from '../support/compile-with-tsc';

// The entry points run as their own processes, because what is tested is how they exit.
describe('start-up errors', () => {
  let outDir: string;
  let dataDir: string;
  let compiled: { logger: string; lifecycle: string; stack: string };

  beforeAll(async () => {
    // Inside the project, so that the compiled files find node_modules.
    const cacheDir = path.join(PROJECT_ROOT, 'node_modules', '.cache');
    mkdirSync(cacheDir, { recursive: true });
    outDir = await mkdtemp(path.join(cacheDir, 'ota-test-build-'));
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ota-start-errors-'));
    compiled = {
      logger: compileWithTsc(path.join(PROJECT_ROOT, 'observability', 'logger.ts'), outDir),
      lifecycle: compileWithTsc(path.join(PROJECT_ROOT, 'lifecycle', 'shutdown-signal.ts'), outDir),
      stack: compileWithTsc(path.join(PROJECT_ROOT, 'dev-stack', 'main.ts'), outDir),
    };
    // The worker finds its workflows with require.resolve, which compileWithTsc does not follow.
    compileWithTsc(path.join(PROJECT_ROOT, 'workflows', 'index.ts'), outDir);
  });

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  function runNode(args: string[], env: Record<string, string>) {
    const result = spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  const INVALID_LOG_LEVEL = `invalid configuration: LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (got 'loud')`;

  test('logger at module load rejects LOG_LEVEL', () => {
    const result = runNode(['-e', `require(${JSON.stringify(compiled.logger)}).createLogger('api')`], { LOG_LEVEL: 'loud' });

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${INVALID_LOG_LEVEL}\n`);
  });

  test('runMain reports a ConfigError in one line', () => {
    const script = `
      const { runMain } = require(${JSON.stringify(compiled.lifecycle)});
      const { createLogger } = require(${JSON.stringify(compiled.logger)});
      const { loadHttpSettings } = require(${JSON.stringify(path.join(outDir, 'config', 'settings.js'))});
      runMain(createLogger('api'), async () => { loadHttpSettings(); });
    `;

    const result = runNode(['-e', script], { HTTP_PORT: 'abc' });

    expect(result.status).toBe(2);
    expect(result.stderr).toBe("invalid configuration: HTTP_PORT: Invalid input: expected number, received NaN (got 'abc')\n");
    expect(result.stdout).toBe('');
  });

  test('runMain logs other failures as fatal', () => {
    const script = `
      const { runMain } = require(${JSON.stringify(compiled.lifecycle)});
      const { createLogger } = require(${JSON.stringify(compiled.logger)});
      runMain(createLogger('api'), async () => { throw new Error('broker unreachable'); });
    `;

    const result = runNode(['-e', script], {});

    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ level: 60, service: 'api', msg: 'process failed', err: { message: 'broker unreachable' } });
  });

  test('file logger flushes on a sudden exit', () => {
    const logPath = path.join(dataDir, 'sudden-exit.log');
    const script = `
      const { openFileLogger } = require(${JSON.stringify(compiled.logger)});
      openFileLogger(${JSON.stringify(logPath)}, 'info').then(({ logger }) => {
        logger.info('last words');
        process.exit(130);
      });
    `;

    const result = runNode(['-e', script], {});

    expect(result.stderr).toBe('');
    expect(result.status).toBe(130);
    expect(readFileSync(logPath, 'utf8')).toContain('"msg":"last words"');
  });

  test('start command rejects LOG_LEVEL before starting', () => {
    const result = runNode([compiled.stack], { LOG_LEVEL: 'loud', OTA_DATA_DIR: dataDir });

    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`[stack] ${INVALID_LOG_LEVEL}\n`);
    expect(result.stdout).toBe('');
  });

  test('start command rejects contradictory flags', () => {
    const result = runNode([compiled.stack, '--no-demo', '--exit-after-demo'], { OTA_DATA_DIR: dataDir });

    expect(result.status).toBe(2);
    expect(result.stderr).toBe('[stack] --no-demo and --exit-after-demo cannot be combined, because without a demo the stack would stop at once. Use one of them\n');
    expect(result.stdout).toBe('');
  });

  test('start command names a busy port', async () => {
    const [temporalPort, uiPort, ferretdbPort, mqttPort, httpPort] = await findFreePorts(5);
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: mqttPort }, () => resolve()));
    try {
      const result = runNode([compiled.stack, '--no-demo'], {
        OTA_DATA_DIR: dataDir,
        DEV_TEMPORAL_PORT: String(temporalPort),
        DEV_TEMPORAL_UI_PORT: String(uiPort),
        DEV_FERRETDB_PORT: String(ferretdbPort),
        DEV_MQTT_PORT: String(mqttPort),
        HTTP_PORT: String(httpPort),
        TEMPORAL_ADDRESS: '',
        MONGO_URL: '',
        MQTT_URL: '',
      });

      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        `[stack] failed: port ${mqttPort} on 127.0.0.1 (DEV_MQTT_PORT) is already in use, perhaps by another running stack; ` +
          'stop the process that listens on it (ss -ltnp shows it) or set DEV_MQTT_PORT to a free port\n',
      );
      // Nothing started, so nothing printed a start line.
      expect(result.stdout).toBe('');
    } finally {
      busy.close();
    }
  });
});

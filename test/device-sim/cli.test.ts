import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { compileWithTsc, PROJECT_ROOT } from '../support/compile-with-tsc';
import { BridgeProbe, BROKER_URL, describeWithBroker, uniqueProductName } from './bridge-probe';
import { FakeOtaApi } from './fake-ota-api';

/** A compiled program running in a child process, with its output collected line by line. */
class RunningProgram {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(file: string, args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [file, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env } });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.stdout.push(line));
    createInterface({ input: this.child.stderr }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  /** Resolves with the first stdout line that `predicate` accepts. */
  async waitForLine(predicate: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = this.stdout.find(predicate);
      if (line !== undefined) return line;
      if (this.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no matching output line within ${timeoutMs} ms\nstdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n')}`);
  }

  /** Log lines of a pino logger whose `msg` equals `message`. */
  logLines(message: string): Array<Record<string, unknown>> {
    return this.stdout
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === message);
  }
}

let outDir: string;
const compiled: Record<'fleet' | 'otaDevice' | 'performOta', string> = { fleet: '', otaDevice: '', performOta: '' };
const running: RunningProgram[] = [];

function start(file: string, args: string[], env: Record<string, string> = {}): RunningProgram {
  const program = new RunningProgram(file, args, env);
  running.push(program);
  return program;
}

beforeAll(async () => {
  // The output must sit inside the project so that require() finds node_modules by walking up.
  const cacheDir = path.join(PROJECT_ROOT, 'node_modules', '.cache');
  mkdirSync(cacheDir, { recursive: true });
  outDir = await mkdtemp(path.join(cacheDir, 'device-sim-build-'));
  compiled.fleet = compileWithTsc(path.join(PROJECT_ROOT, 'device-sim', 'main.ts'), outDir);
  compiled.otaDevice = compileWithTsc(path.join(PROJECT_ROOT, 'device-sim', 'samples', 'ota-device.ts'), outDir);
  compiled.performOta = compileWithTsc(path.join(PROJECT_ROOT, 'device-sim', 'samples', 'perform-ota.ts'), outDir);
}, 120_000);

afterAll(async () => {
  for (const program of running) program.kill();
  await rm(outDir, { recursive: true, force: true });
});

describe('perform-ota command', () => {
  let api: FakeOtaApi;

  beforeEach(async () => {
    api = new FakeOtaApi();
    await api.start();
  });

  afterEach(async () => {
    await api.stop();
  });

  it('prints the demo lines and exits 0', async () => {
    api.otaReplies = [
      { status: 200, body: { version: '1.1', type: 'firmware', progress: 60, desc: null, upgrade: { status: 'RUNNING', state: { phase: 'downloading' } } } },
      { status: 200, body: { version: '1.1', type: 'firmware', progress: 100, desc: null, upgrade: { status: 'RUNNING', state: { phase: 'verifying' } } } },
    ];
    api.deviceReplies = [{ status: 200, body: { device_status: { firmware_ver: '1.1' } } }];
    const program = start(compiled.performOta, ['IotApp', 'dev-00001'], { API_URL: api.url });

    expect(await program.exited).toBe(0);
    expect(program.stdout).toEqual(['statusCode: 200', 'current progress:60%', 'current progress:100%', 'current version:1.1', 'upgrade completed']);
    expect(api.requests[0]?.path).toBe('/ota/IotApp/dev-00001');
  });

  it('exits 1 with the error body on HTTP 400', async () => {
    api.postReply = { status: 400, body: { error: 'device not found' } };
    const program = start(compiled.performOta, [], { API_URL: api.url, TARGET_PRODUCT_NAME: 'IotApp', TARGET_DEVICE_NAME: 'dev-00002' });

    expect(await program.exited).toBe(1);
    expect(program.stdout).toEqual(['statusCode: 400']);
    expect(program.stderr.join('\n')).toContain('upgrade request failed with HTTP 400: {"error":"device not found"}');
  });

  it('exits 2 without a device', async () => {
    const program = start(compiled.performOta, [], { API_URL: api.url, TARGET_PRODUCT_NAME: '', TARGET_DEVICE_NAME: '' });
    expect(await program.exited).toBe(2);
    expect(program.stderr.join('\n')).toMatch(/missing device/);
  });
});

describe('fleet command', () => {
  it('rejects an invalid mix with exit code 2', async () => {
    const program = start(compiled.fleet, ['--product', 'p', '--mix', 'bogus=1']);
    expect(await program.exited).toBe(2);
    expect(program.stderr[0]).toMatch(/unknown scenario 'bogus'/);
  });
});

describeWithBroker('commands on a real broker', () => {
  it('ota-device sample reproduces the demo output', async () => {
    const productName = uniqueProductName('demo');
    const probe = new BridgeProbe(BROKER_URL!, productName);
    await probe.open();
    try {
      const program = start(compiled.otaDevice, [], { MQTT_URL: BROKER_URL!, TARGET_PRODUCT_NAME: productName, TARGET_DEVICE_NAME: 'dev-00001' });
      await probe.waitForReports('dev-00001', (reports) => reports.length === 1, 15_000);
      expect(probe.sequenceOf('dev-00001')).toEqual(['ver=1.0']);

      const sentAt = Date.now();
      await probe.sendOtaUpgrade('dev-00001');
      // The demo pace: five steps 2 s apart, then 3 s of installing.
      await probe.waitForReports('dev-00001', (reports) => reports.some((report) => report.body.firmware_ver === '1.1'), 30_000);
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(12_500);
      expect(probe.sequenceOf('dev-00001')).toEqual(['ver=1.0', '1.1:0', '1.1:20', '1.1:40', '1.1:60', '1.1:80', '1.1:100', 'ver=1.1']);
      expect(program.stdout).toEqual([
        'going to upgrade firmware: http://firmware.example/1.1.pkg, version=1.1',
        'download:0',
        'download:20',
        'download:40',
        'download:60',
        'download:80',
        'download:100',
      ]);

      program.signal('SIGINT');
      expect(await program.exited).toBe(0);
    } finally {
      await probe.close();
    }
  }, 60_000);

  it('fleet command runs devices and stops on SIGINT', async () => {
    const productName = uniqueProductName('cli');
    const probe = new BridgeProbe(BROKER_URL!, productName);
    await probe.open();
    try {
      const args = ['--product', productName, '--count', '3', '--mix', 'success=2,download_error@20=1', '--step-interval-ms', '20', '--install-delay-ms', '20', '--summary-interval-ms', '0'];
      const program = start(compiled.fleet, args, { MQTT_URL: BROKER_URL! });
      await program.waitForLine((line) => line.includes('"simulated devices connected"'), 15_000);

      for (const deviceName of ['dev-00001', 'dev-00002', 'dev-00003']) await probe.sendOtaUpgrade(deviceName);
      await program.waitForLine(() => program.logLines('upgrade run finished').length === 3, 15_000);
      expect(program.logLines('upgrade run started').map((entry) => [entry.deviceName, entry.scenario])).toEqual(
        expect.arrayContaining([
          ['dev-00001', 'success'],
          ['dev-00002', 'download_error@20'],
          ['dev-00003', 'success'],
        ]),
      );

      program.signal('SIGINT');
      expect(await program.exited).toBe(0);
      const [stopped] = program.logLines('simulated devices stopped');
      expect(stopped?.summary).toMatchObject({ devices: 3, commandsAccepted: 3, runsFinished: 3, versions: { '1.1': 2, '1.0': 1 } });
    } finally {
      await probe.close();
    }
  }, 60_000);
});

import type { Fleet } from '../../device-sim/fleet';
import { callApi, startEngine, type RunningEngine } from '../support/engine-harness';
import { startFleet, uniqueProduct, waitForRegistered } from '../support/campaign-harness';
import { waitFor } from '../support/worker-harness';
import { runCli, tempFolder, unusedPort, type CliResult } from './run-cli';

// The CLI against the real API: worker, bridge and API in this process on the harness's Temporal,
// FerretDB and Mosquitto, with simulated devices that carry out the upgrades.

let engine: RunningEngine;
let folder: Awaited<ReturnType<typeof tempFolder>>;
const fleets: Fleet[] = [];

beforeAll(async () => {
  engine = await startEngine('cli');
  folder = await tempFolder();
});

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  await engine?.stop();
  await folder?.remove();
});

async function fleetOf(options: Parameters<typeof startFleet>[1]): Promise<Fleet> {
  const fleet = await startFleet(engine, options);
  fleets.push(fleet);
  await waitForRegistered(engine, options.productName, options.count);
  return fleet;
}

function ota(...argv: string[]): Promise<CliResult> {
  return runCli([...argv, '--api', engine.apiUrl], { cwd: folder.dir });
}

/** Builds a YAML campaign file over every device of the product, with timeouts short enough for tests. */
function campaignYaml(id: string, productName: string, extra = ''): string {
  return `# Test campaign ${id}
id: ${id}
productName: ${productName}
target:
  kind: all
firmware:
  type: firmware
  url: http://firmware.example/1.1.pkg
  version: "1.1"
  size: 1000
  md5: c4ca4238a0b923820dcc509a6f75849b
rollout:
  maxConcurrent: 3
  maxStartsPerMinute: 100000
upgrade:
  stallTimeoutMs: 8000
  verifyTimeoutMs: 8000
  maxAttempts: 1
${extra}`;
}

describe('ota CLI against the API', () => {
  it('runs a YAML campaign from start to retry', async () => {
    const productName = uniqueProduct('cli');
    // Two devices fail their first attempt and succeed on the next, so a retry round completes them.
    await fleetOf({ productName, count: 6, mix: 'success=4,download_error@40+success=2' });
    const id = `cli-${productName}`;
    await folder.write(`${id}.yaml`, campaignYaml(id, productName));

    const started = await ota('campaign', 'start', `${id}.yaml`);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout.split('\n')[0]).toMatch(new RegExp(`^created campaign ${id} \\((running|scheduled)\\)$`));

    const again = await ota('campaign', 'start', `${id}.yaml`);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`campaign ${id} already exists`);

    const watched = await ota('campaign', 'watch', id, '--interval-ms', '200');
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    const watchLines = watched.stdout.trimEnd().split('\n');
    expect(watchLines.at(-1)).toMatch(new RegExp(`^campaign ${id} completed: succeeded 4, failed 2, timed out 0, skipped 0, cancelled 0 \\(100% done, took .+\\)$`));
    // Without a terminal each change is one line, and no line is printed twice in a row.
    expect(watchLines.length).toBeGreaterThanOrEqual(2);
    expect(watched.stdout).not.toContain('\x1b[');
    for (let index = 1; index < watchLines.length; index += 1) expect(watchLines[index]).not.toBe(watchLines[index - 1]);

    const showResult = await ota('campaign', 'show', id);
    expect(showResult.code).toBe(0);
    const shownLines = showResult.stdout.split('\n');
    expect(shownLines[0]).toBe(`campaign ${id}`);
    expect(shownLines).toContain('  state         completed');
    expect(shownLines).toContain('  outcomes      succeeded 4, failed 2, timed out 0, skipped 0, cancelled 0');
    expect(shownLines).toContain('  targets       6');
    expect(shownLines).toContain('  in flight     0');
    expect(shownLines).toContain('  not started   0');
    expect(shownLines).toContainEqual(expect.stringMatching(/^ {2}progress {6}\[█{30}\] 100% done$/));

    const json = await ota('campaign', 'show', id, '--json');
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toEqual((await callApi(engine, 'GET', `/campaigns/${id}`)).body);
    expect(body.view.counts).toEqual({ total: 6, started: 6, succeeded: 4, failed: 2, timedOut: 0, skipped: 0, cancelled: 0 });

    const failed = await ota('campaign', 'devices', id, '--outcome', 'failed');
    expect(failed.code).toBe(0);
    const [header, ...rows] = failed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^DEVICE\s+OUTCOME\s+REASON\s+ATTEMPTS\s+LAST PROGRESS\s+ROUND\s+FINISHED$/);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^dev-\d+\s+failed\s+download_error\s+1\s+-1\s+1\s+\S+Z$/);

    const listed = await ota('campaign', 'list', '--limit', '100');
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n').find((line) => line.startsWith(`${id} `))).toMatch(
      new RegExp(`^${id}\\s+${productName}\\s+1\\.1\\s+completed\\s+100%\\s+6\\s+4\\s+2\\s+0\\s+0\\s+0\\s+0\\s+\\S+Z$`),
    );

    // Pausing a finished campaign is a conflict: the API's message is printed and the exit code is 1.
    const paused = await ota('campaign', 'pause', id);
    const conflict = await callApi(engine, 'POST', `/campaigns/${id}/pause`);
    expect(conflict.status).toBe(409);
    expect(paused.code).toBe(1);
    expect(paused.stdout).toBe('');
    expect(paused.stderr).toBe(`ota: POST /campaigns/${id}/pause failed with 409 (conflict): ${conflict.body.message}\n`);

    const retried = await ota('campaign', 'retry-failed', id);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(retried.stdout.split('\n')[0]).toMatch(new RegExp(`^campaign ${id}: retry round 2 started, state `));

    const rewatched = await ota('campaign', 'watch', id, '--interval-ms', '200');
    expect(rewatched.code).toBe(0);
    expect(rewatched.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^campaign ${id} completed: succeeded 6, failed 0, timed out 0, skipped 0, cancelled 0 `));
    const retriedDevices = await ota('campaign', 'devices', id, '--outcome', 'succeeded', '--limit', '4');
    expect(retriedDevices.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^next page: ota campaign devices ${id} --outcome succeeded --limit 4 --after dev-\\d+$`));
  });

  it('redraws the progress bar on a terminal', async () => {
    const productName = uniqueProduct('clitty');
    // Slow devices, so that the watch draws several frames.
    await fleetOf({ productName, count: 3, timings: { stepIntervalMs: 300 } });
    const id = `tty-${productName}`;
    await folder.write(`${id}.yml`, campaignYaml(id, productName));
    expect((await ota('campaign', 'start', `${id}.yml`)).code).toBe(0);

    const watched = await runCli(['campaign', 'watch', id, '--interval-ms', '100', '--api', engine.apiUrl], { ttyColumns: 100 });
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain('\x1b[2F\x1b[J');
    expect(watched.stdout).toMatch(new RegExp(`${id} \\[█+\\] completed 100% done\n`));
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^campaign ${id} completed: succeeded 3, failed 0,`));
  });

  it('stops watching on Ctrl-C and cancels', async () => {
    const productName = uniqueProduct('clisched');
    const id = `sched-${productName}`;
    // A JSON file this time, with a start far ahead, so the campaign waits as scheduled while it is watched.
    const body = {
      id,
      productName,
      target: { kind: 'devices', deviceNames: ['dev-00001'] },
      firmware: { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
      startAt: new Date(Date.now() + 24 * 3_600_000).toISOString(),
    };
    await folder.write(`${id}.json`, JSON.stringify(body, null, 2));
    const started = await ota('campaign', 'start', `${id}.json`);
    expect(started.code).toBe(0);
    expect(started.stdout.split('\n')[0]).toBe(`created campaign ${id} (scheduled)`);

    const controller = new AbortController();
    const watched = await runCli(['campaign', 'watch', id, '--interval-ms', '100', '--api', engine.apiUrl], {
      signal: controller.signal,
      onStdout: () => setTimeout(() => controller.abort(), 300),
    });
    expect(watched.code).toBe(130);
    expect(watched.stdout).toMatch(new RegExp(`^\\S+Z ${id} scheduled`));
    expect(watched.stderr).toBe(`stopped watching campaign ${id}; the campaign itself keeps running. Watch it again with: ota campaign watch ${id}\n`);

    const cancelled = await ota('campaign', 'cancel', id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout.split('\n')[0]).toBe(`campaign ${id}: now cancelled`);

    const ended = await ota('campaign', 'watch', id, '--interval-ms', '100');
    expect(ended.code).toBe(1);
    expect(ended.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^campaign ${id} ended cancelled: `));
  });

  it('starts and shows a single upgrade', async () => {
    const productName = uniqueProduct('cliup');
    await fleetOf({ productName, count: 1, timings: { stepIntervalMs: 400 } });
    const firmware = ['--version', '1.1', '--url', 'http://firmware.example/1.1.pkg', '--size', '1000', '--md5', 'c4ca4238a0b923820dcc509a6f75849b'];

    const started = await ota('upgrade', 'start', productName, 'dev-00001', ...firmware);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(`started the upgrade of ${productName}/dev-00001 to firmware 1.1: workflow upgrade:${productName}:dev-00001, run `);

    // The device takes two seconds, so a second request finds the first still running.
    const second = await ota('upgrade', 'start', productName, 'dev-00001', ...firmware);
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `ota: POST /ota/${productName}/dev-00001 failed with 409 (conflict): an upgrade of this device is already running (workflow upgrade:${productName}:dev-00001)\n`,
    );

    // The bridge writes reports to the registry behind the signals, so the stored report can trail the workflow.
    const upgradeShown = await waitFor('the upgrade to complete and its last report to be stored', async () => {
      const result = await ota('upgrade', 'show', productName, 'dev-00001');
      return result.stdout.includes('(COMPLETED)') && result.stdout.includes('at progress 100%') ? result : undefined;
    }, 60_000);
    expect(upgradeShown.code).toBe(0);
    const lines = upgradeShown.stdout.split('\n');
    expect(lines[0]).toBe(`device ${productName}/dev-00001`);
    expect(lines).toContain('  phase             succeeded');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}last report {7}firmware 1\.1 at progress 100%/));
    expect(lines).toContain(`  workflow          upgrade:${productName}:dev-00001, run ${started.stdout.match(/run (\S+)\n/)![1]} (COMPLETED)`);
    expect(lines).toContain('  reported version  1.1');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}attempt 1 {9}succeeded, last progress 100%, started \S+Z$/));

    const json = await ota('upgrade', 'show', productName, 'dev-00001', '--json');
    expect(JSON.parse(json.stdout).upgrade.state.phase).toBe('succeeded');
  });

  it('reports API errors with their fields', async () => {
    const missing = await ota('campaign', 'show', 'no-such-campaign');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'ota: GET /campaigns/no-such-campaign failed with 404 (not found): campaign no-such-campaign not found\n' });

    // Valid by the schema, but below the API's default initial backoff, which only the API has.
    const productName = uniqueProduct('cli400');
    const id = `bad-${productName}`;
    await folder.write(`${id}.yaml`, campaignYaml(id, productName).replace('  maxAttempts: 1', '  maxAttempts: 2\n  maxBackoffMs: 100'));
    const rejected = await ota('campaign', 'start', `${id}.yaml`);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/^ota: POST \/campaigns failed with 400 \(invalid request\):\n {2}upgrade\.maxBackoffMs: .+\(after defaults are applied\)\n$/);
    expect((await callApi(engine, 'GET', `/campaigns/${id}`)).status).toBe(404);
  });

  it('sends nothing for an invalid file', async () => {
    const productName = uniqueProduct('clibad');
    const id = `invalid-${productName}`;
    await folder.write(`${id}.yaml`, campaignYaml(id, productName).replace('version: "1.1"', 'version: 1.10').replace('kind: all', 'kind: some'));
    const result = await ota('campaign', 'start', `${id}.yaml`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      `ota: invalid campaign file ${id}.yaml:`,
      `  ${id}.yaml:5:9: target.kind: kind must be one of 'devices', 'all', 'filter'`,
      `  ${id}.yaml:9:12: firmware.version: Invalid input: expected string, received number; YAML reads 1.10 as a number, so quote it: "1.10"`,
      '',
    ]);
    expect((await callApi(engine, 'GET', `/campaigns/${id}`)).status).toBe(404);
  });

  it('reports an API that nothing serves', async () => {
    const port = await unusedPort();
    const result = await runCli(['campaign', 'show', 'any', '--api', `http://127.0.0.1:${port}`]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `ota: could not reach the API at http://127.0.0.1:${port}: connection refused; is the stack running? set --api or OTA_API_URL\n`,
    });
  });
});

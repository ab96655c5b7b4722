import type { CampaignJson, DeviceOutcomeJson } from '../../cli/api-types';
import { formatCampaignDetails, formatCampaignTable, formatDeviceTable, formatTarget } from '../../cli/campaign-format';
import { formatDuration, formatPercent, formatTable, formatTime } from '../../cli/format';
import { formatDeviceUpgrade } from '../../cli/upgrade-commands';
import type { CampaignView } from '../../workflows/campaign-types';

const STARTED_AT = Date.parse('2026-12-24T08:00:00Z');

function sampleView(overrides: Partial<CampaignView> = {}): CampaignView {
  return {
    campaignId: 'lamps-1.1',
    productName: 'demo',
    targetVersion: '1.1',
    state: 'running',
    round: 1,
    counts: { total: 200, started: 120, succeeded: 90, failed: 6, timedOut: 2, skipped: 10, cancelled: 0 },
    inFlight: 22,
    notStarted: 70,
    percentDone: 54,
    abortReason: null,
    firstWave: { size: 10, started: 10, finished: 10, succeeded: 10, state: 'passed' },
    startAt: null,
    startedAt: STARTED_AT,
    endedAt: null,
    duplicateReports: 0,
    runNumber: 1,
    ...overrides,
  };
}

function sampleCampaign(view: CampaignView | null = sampleView()): CampaignJson {
  return {
    id: 'lamps-1.1',
    workflowId: 'campaign:lamps-1.1',
    productName: 'demo',
    firmware: { type: 'firmware', url: 'https://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
    target: { kind: 'all' },
    createdAt: '2026-12-24T07:59:58.123Z',
    view,
    workflowStatus: 'RUNNING',
  };
}

describe('formatting helpers', () => {
  it('aligns table columns', () => {
    const table = formatTable(
      [{ header: 'NAME' }, { header: 'COUNT', align: 'right' }, { header: 'NOTE' }],
      [
        ['a', '5', 'short'],
        ['longer-name', '12345', ''],
      ],
    );
    expect(table.split('\n')).toEqual(['NAME         COUNT  NOTE', 'a                5  short', 'longer-name  12345']);
  });

  it('formats times, durations and percentages', () => {
    expect(formatTime(STARTED_AT)).toBe('2026-12-24T08:00:00Z');
    expect(formatTime('2026-12-24T07:59:58.123Z')).toBe('2026-12-24T07:59:58Z');
    expect(formatTime(null)).toBe('-');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(185_000)).toBe('3m 05s');
    expect(formatDuration(7_620_000)).toBe('2h 07m');
    expect(formatPercent(54)).toBe('54%');
    expect(formatPercent(52.46)).toBe('52.5%');
    expect(formatPercent(99.96)).toBe('100%');
    expect(formatPercent(null)).toBe('-');
  });

  it('describes each kind of target', () => {
    expect(formatTarget({ kind: 'all' })).toBe('all devices of the product');
    expect(formatTarget({ kind: 'devices', deviceNames: ['a'] })).toBe('1 named device');
    expect(formatTarget({ kind: 'devices', deviceNames: ['a', 'b', 'c'] })).toBe('3 named devices');
    expect(
      formatTarget({
        kind: 'filter',
        where: [
          { field: 'firmware_ver', op: 'ne', value: '1.1' },
          { field: 'region', op: 'in', value: ['eu', 'us'] },
        ],
      }),
    ).toBe('devices where firmware_ver ne "1.1" and region in ["eu","us"]');
  });
});

describe('campaign formatting', () => {
  it('shows every part of the view', () => {
    const text = formatCampaignDetails(sampleCampaign());
    const lines = text.split('\n');
    expect(lines[0]).toBe('campaign lamps-1.1');
    expect(lines).toContain('  state         running');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}progress {6}\[█{16}░{14}\] 54% done$/));
    expect(lines).toContain('  targets       200');
    expect(lines).toContain('  outcomes      succeeded 90, failed 6, timed out 2, skipped 10, cancelled 0');
    expect(lines).toContain('  in flight     22');
    expect(lines).toContain('  not started   70');
    expect(lines).toContain('  first wave    passed: 10 devices, 10 started, 10 finished, 10 succeeded');
    expect(lines).toContain('  abort reason  -');
    expect(lines).toContain('  started       2026-12-24T08:00:00Z');
    expect(lines).toContain('  ended         -');
    expect(lines).toContain('  workflow      campaign:lamps-1.1 (RUNNING)');
  });

  it('shows an aborted campaign with its reason and duration', () => {
    const view = sampleView({ state: 'aborted', abortReason: 'failure rate 45% reached the limit of 40%', endedAt: STARTED_AT + 185_000, firstWave: null, round: 2 });
    const lines = formatCampaignDetails(sampleCampaign(view)).split('\n');
    expect(lines).toContain('  state         aborted (retry round 2)');
    expect(lines).toContain('  abort reason  failure rate 45% reached the limit of 40%');
    expect(lines).toContain('  ended         2026-12-24T08:03:05Z (took 3m 05s)');
    expect(lines).toContain('  first wave    none');
  });

  it('marks a stored view of a running campaign', () => {
    const lines = formatCampaignDetails({ ...sampleCampaign(), viewSource: 'stored' }).split('\n');
    expect(lines).toContain('  view          stored summary: no worker answered the state query, so the figures below may be behind');
    expect(formatCampaignDetails({ ...sampleCampaign(), viewSource: 'workflow' })).not.toContain('stored summary');
  });

  it('explains a campaign without targets', () => {
    const view = sampleView({ state: 'completed', counts: { total: 0, started: 0, succeeded: 0, failed: 0, timedOut: 0, skipped: 0, cancelled: 0 }, notStarted: 0, inFlight: 0 });
    const lines = formatCampaignDetails(sampleCampaign(view)).split('\n');
    expect(lines).toContain('  targets       0: no registered device of product demo matched the target');
  });

  it('shows a campaign without a view', () => {
    const text = formatCampaignDetails(sampleCampaign(null));
    expect(text).toContain('state     unknown: the campaign has not reported its state yet');
    expect(text).not.toContain('outcomes');
  });

  it('lists campaigns as a table', () => {
    const preparing = sampleCampaign(sampleView({ counts: { total: null, started: 0, succeeded: 0, failed: 0, timedOut: 0, skipped: 0, cancelled: 0 }, percentDone: null, notStarted: null, inFlight: 0 }));
    const lines = formatCampaignTable([sampleCampaign(), { ...preparing, id: 'lamps-1.2' }, { ...sampleCampaign(null), id: 'lamps-1.3' }]).split('\n');
    expect(lines[0]).toMatch(/^ID {9}PRODUCT {2}VERSION {2}STATE {4}DONE {2}TOTAL {2}SUCCEEDED {2}FAILED {2}TIMED OUT {2}SKIPPED {2}CANCELLED {2}IN FLIGHT {2}CREATED$/);
    expect(lines[1]!.split(/\s+/)).toEqual(['lamps-1.1', 'demo', '1.1', 'running', '54%', '200', '90', '6', '2', '10', '0', '22', '2026-12-24T07:59:58Z']);
    expect(lines[2]!.split(/\s+/)).toEqual(['lamps-1.2', 'demo', '1.1', 'running', '-', '-', '0', '0', '0', '0', '0', '0', '2026-12-24T07:59:58Z']);
    expect(lines[3]!.split(/\s+/)).toEqual(['lamps-1.3', 'demo', '1.1', 'unknown', '-', '-', '-', '-', '-', '-', '-', '-', '2026-12-24T07:59:58Z']);
  });

  it('lists device outcomes as a table', () => {
    const devices: DeviceOutcomeJson[] = [
      { deviceName: 'dev-00001', outcome: 'failed', reason: 'download_error', attempts: 2, lastProgress: -1, runId: 'r1', finishedAt: STARTED_AT, round: 1 },
      { deviceName: 'dev-00002', outcome: 'skipped', reason: 'already_installed', attempts: 0, lastProgress: null, runId: null, finishedAt: STARTED_AT, round: 1 },
    ];
    const lines = formatDeviceTable(devices).split('\n');
    expect(lines[0]).toBe('DEVICE     OUTCOME  REASON             ATTEMPTS  LAST PROGRESS  ROUND  FINISHED');
    expect(lines[1]).toBe('dev-00001  failed   download_error            2             -1      1  2026-12-24T08:00:00Z');
    expect(lines[2]).toBe('dev-00002  skipped  already_installed         0              -      1  2026-12-24T08:00:00Z');
  });
});

describe('upgrade formatting', () => {
  it('shows a failed upgrade with its attempts', () => {
    const text = formatDeviceUpgrade('demo/dev-1', {
      version: '1.1',
      type: 'firmware',
      progress: -1,
      desc: 'connection lost',
      upgrade: {
        workflowId: 'upgrade:demo:dev-1',
        runId: 'run-1',
        status: 'FAILED',
        failure: null,
        state: {
          productName: 'demo',
          deviceName: 'dev-1',
          campaignWorkflowId: null,
          targetVersion: '1.1',
          firmwareType: 'firmware',
          phase: 'failed',
          progress: -1,
          desc: 'connection lost',
          attempt: 1,
          maxAttempts: 1,
          attempts: [{ attempt: 1, requestId: 'q1', startedAt: STARTED_AT, publishedAt: STARTED_AT, endedAt: STARTED_AT + 5_000, lastProgress: -1, reason: 'download_error', desc: null }],
          failureReason: 'download_error',
          skipReason: null,
          reportedVersion: '1.0',
          ignoredReports: 0,
          startedAt: STARTED_AT,
          updatedAt: STARTED_AT + 5_000,
          endedAt: STARTED_AT + 5_000,
        },
      },
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('device demo/dev-1');
    expect(lines).toContain('  last report       firmware 1.1 at progress -1 (download error) (connection lost)');
    expect(lines).toContain('  workflow          upgrade:demo:dev-1, run run-1 (FAILED)');
    expect(lines).toContain('  phase             failed (download_error)');
    expect(lines).toContain('  attempt           1 of 1');
    expect(lines).toContain('  reported version  1.0');
    expect(lines).toContain('  ended             2026-12-24T08:00:05Z (took 5s)');
    expect(lines).toContain('  attempt 1         download_error, last progress -1 (download error), started 2026-12-24T08:00:00Z');
  });

  it('shows a device that was never upgraded', () => {
    const text = formatDeviceUpgrade('demo/dev-2', { version: null, type: null, progress: null, desc: null, upgrade: null });
    expect(text.split('\n')).toEqual(['device demo/dev-2', '  last report  none', '  upgrade      none: the device has never been upgraded']);
  });
});

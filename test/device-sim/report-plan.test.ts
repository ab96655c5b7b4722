import { buildReportPlan, percentsUpTo, progressPercents, type PlannedStep } from '../../device-sim/report-plan';
import { parseScenarioText } from '../../device-sim/scenarios';
import type { OtaUpgradePayload } from '../../protocol';

const command: OtaUpgradePayload = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'c4ca4238a0b923820dcc509a6f75849b',
};
const timings = { stepIntervalMs: 100, steps: 5, installDelayMs: 300 };

function plan(scenarioText: string, currentVersion = '1.0'): PlannedStep[] {
  return buildReportPlan({ scenario: parseScenarioText(scenarioText), command, currentVersion, timings });
}

/** Short form of a plan: `version:progress` for progress reports and `ver=X` for status reports, `x2` for two copies. */
function summarizePlan(steps: PlannedStep[]): string[] {
  return steps.map((step) => {
    const text = step.report.kind === 'progress' ? `${step.report.body.version}:${step.report.body.progress}` : `ver=${step.report.firmwareVersion}`;
    return step.copies === 2 ? `${text}x2` : text;
  });
}

describe('progressPercents', () => {
  it('splits 0-100 into equal steps', () => {
    expect(progressPercents(5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(progressPercents(1)).toEqual([0, 100]);
    expect(progressPercents(3)).toEqual([0, 33, 67, 100]);
  });

  it('never repeats a percentage', () => {
    const percents = progressPercents(100);
    expect(percents).toHaveLength(101);
    expect(new Set(progressPercents(100)).size).toBe(101);
  });

  it('stops at a percentage between steps', () => {
    expect(percentsUpTo(5, 40)).toEqual([0, 20, 40]);
    expect(percentsUpTo(5, 50)).toEqual([0, 20, 40, 50]);
    expect(percentsUpTo(5, 0)).toEqual([0]);
  });
});

describe('buildReportPlan', () => {
  it.each([
    ['success', ['1.1:0', '1.1:20', '1.1:40', '1.1:60', '1.1:80', '1.1:100', 'ver=1.1']],
    ['stall@60', ['1.1:0', '1.1:20', '1.1:40', '1.1:60']],
    ['stall@0', ['1.1:0']],
    ['download_error@40', ['1.1:0', '1.1:20', '1.1:-1']],
    ['download_error@0', ['1.1:-1']],
    ['md5_error', ['1.1:0', '1.1:20', '1.1:40', '1.1:60', '1.1:80', '1.1:100', '1.1:-2']],
    ['install_error', ['1.1:0', '1.1:20', '1.1:40', '1.1:60', '1.1:80', '1.1:100', '1.1:-3']],
    ['other_error', ['1.1:-4']],
    ['other_error@60', ['1.1:0', '1.1:20', '1.1:40', '1.1:-4']],
    ['reboot_old_version', ['1.1:0', '1.1:20', '1.1:40', '1.1:60', '1.1:80', '1.1:100', 'ver=1.0']],
    ['duplicates', ['1.1:0x2', '1.1:20x2', '1.1:40x2', '1.1:60x2', '1.1:80x2', '1.1:100x2', 'ver=1.1x2']],
    ['out_of_order', ['1.1:20', '1.1:0', '1.1:60', '1.1:40', '1.1:100', '1.1:80', 'ver=1.1']],
    ['stale_reports', ['1.1:0', '1.0:0', '1.1:20', '1.0:20', '1.1:40', '1.0:40', '1.1:60', '1.0:60', '1.1:80', '1.0:80', '1.1:100', '1.0:100', 'ver=1.1']],
    ['silent', []],
  ])('plans %s', (scenarioText, expected) => {
    expect(summarizePlan(plan(scenarioText))).toEqual(expected);
  });

  it('uses the configured stale version', () => {
    expect(summarizePlan(plan('stale_reports@0.9')).slice(0, 2)).toEqual(['1.1:0', '0.9:0']);
  });

  it('invents a stale version when the device already runs the target', () => {
    expect(summarizePlan(plan('stale_reports', '1.1')).slice(0, 2)).toEqual(['1.1:0', '1.1-stale:0']);
  });

  it('waits one step interval between progress reports', () => {
    expect(plan('success').map((step) => step.delayMs)).toEqual([0, 100, 100, 100, 100, 100, 300]);
  });

  it('checks md5 one step after the download and installs for the install delay', () => {
    expect(plan('md5_error').at(-1)?.delayMs).toBe(100);
    expect(plan('install_error').at(-1)?.delayMs).toBe(300);
  });

  it('sends stale reports right after the real one', () => {
    expect(plan('stale_reports').slice(0, 4).map((step) => step.delayMs)).toEqual([0, 0, 100, 0]);
  });

  it('keeps the timing when swapping pairs', () => {
    expect(plan('out_of_order').map((step) => step.delayMs)).toEqual([0, 100, 100, 100, 100, 100, 300]);
  });

  it('carries type, version and a description', () => {
    const step = plan('download_error@40').at(-1)!;
    expect(step.report).toEqual({
      kind: 'progress',
      body: { version: '1.1', type: 'firmware', progress: -1, desc: 'download failed at 40%' },
    });
  });

  it('names the expected md5 on an md5 error', () => {
    const step = plan('md5_error').at(-1)!;
    expect(step.report).toMatchObject({ kind: 'progress', body: { progress: -2, desc: 'package does not match md5 c4ca4238a0b923820dcc509a6f75849b' } });
  });
});

import { ProgressCode, type OtaUpgradePayload } from '../protocol';
import type { Scenario } from './scenarios';
import type { Timings } from './timings';

/** Body of an `update_ota_status` report as the device publishes it. */
export interface ProgressReportBody {
  version: string;
  type: string;
  progress: number;
  desc: string;
}

export type PlannedReport =
  | { kind: 'progress'; body: ProgressReportBody }
  | { kind: 'status'; firmwareVersion: string };

/** One report of a plan and the wait before it. */
export interface PlannedStep {
  /** Wait after the previous step (or after the command, for the first step), in milliseconds. */
  delayMs: number;
  report: PlannedReport;
  /** Times the report is published with the same messageId: 2 imitates a QoS 1 redelivery. */
  copies: 1 | 2;
}

export interface ReportPlanInput {
  scenario: Scenario;
  command: OtaUpgradePayload;
  /** firmware_ver the device runs when the command arrives. */
  currentVersion: string;
  timings: Timings;
}

/** Download percentages of a full download: `steps` 5 gives 0, 20, 40, 60, 80, 100. */
export function progressPercents(steps: number): number[] {
  const percents: number[] = [];
  for (let step = 0; step <= steps; step += 1) {
    const percent = Math.round((step * 100) / steps);
    // Rounding can repeat a value when steps exceeds 100, and a device never reports the same value twice.
    if (percents[percents.length - 1] !== percent) percents.push(percent);
  }
  return percents;
}

/** Percentages of a download that stops at `atPercent`: the steps below it, then `atPercent` itself. */
export function percentsUpTo(steps: number, atPercent: number): number[] {
  return [...progressPercents(steps).filter((percent) => percent < atPercent), atPercent];
}

/**
 * Builds the reports a device publishes for one `$ota_upgrade` command under `scenario`, each with
 * the wait before it. The first report follows the command at once. A plan has no side effects:
 * the device runs it.
 */
export function buildReportPlan(input: ReportPlanInput): PlannedStep[] {
  const { scenario, command, currentVersion, timings } = input;
  const downloadSteps = (percents: number[]) => progressSteps(percents, command, timings.stepIntervalMs);
  const fullDownload = () => downloadSteps(progressPercents(timings.steps));

  switch (scenario.kind) {
    case 'success':
      return [...fullDownload(), statusStep(command.version, timings.installDelayMs)];
    case 'stall':
      return downloadSteps(percentsUpTo(timings.steps, scenario.atPercent));
    case 'download_error':
      return failAt(downloadSteps(percentsUpTo(timings.steps, scenario.atPercent)), ProgressCode.DOWNLOAD_ERROR, `download failed at ${scenario.atPercent}%`);
    case 'other_error':
      return failAt(downloadSteps(percentsUpTo(timings.steps, scenario.atPercent)), ProgressCode.OTHER_ERROR, `simulated device error at ${scenario.atPercent}%`);
    case 'md5_error':
      return [
        ...fullDownload(),
        errorStep(command, ProgressCode.MD5_ERROR, `package does not match md5 ${command.md5}`, timings.stepIntervalMs),
      ];
    case 'install_error':
      return [...fullDownload(), errorStep(command, ProgressCode.INSTALL_ERROR, 'install failed', timings.installDelayMs)];
    case 'reboot_old_version':
      return [...fullDownload(), statusStep(currentVersion, timings.installDelayMs)];
    case 'duplicates':
      return [...fullDownload(), statusStep(command.version, timings.installDelayMs)].map((step) => ({ ...step, copies: 2 }));
    case 'out_of_order':
      return [...swapPairs(fullDownload()), statusStep(command.version, timings.installDelayMs)];
    case 'stale_reports':
      return [...withStaleReports(fullDownload(), staleVersionFor(scenario.staleVersion, currentVersion, command.version)), statusStep(command.version, timings.installDelayMs)];
    case 'silent':
      return [];
  }
}

function progressSteps(percents: number[], command: OtaUpgradePayload, stepIntervalMs: number): PlannedStep[] {
  return percents.map((percent, index) => ({
    delayMs: index === 0 ? 0 : stepIntervalMs,
    report: { kind: 'progress', body: progressBody(command, percent, 'downloading') },
    copies: 1,
  }));
}

function progressBody(command: OtaUpgradePayload, progress: number, desc: string): ProgressReportBody {
  return { version: command.version, type: command.type, progress, desc };
}

function statusStep(firmwareVersion: string, delayMs: number): PlannedStep {
  return { delayMs, report: { kind: 'status', firmwareVersion }, copies: 1 };
}

function errorStep(command: OtaUpgradePayload, code: number, desc: string, delayMs: number): PlannedStep {
  return { delayMs, report: { kind: 'progress', body: progressBody(command, code, desc) }, copies: 1 };
}

/** Replaces the body of the last step, the percentage where the failure happens, with an error code. */
function failAt(steps: PlannedStep[], code: number, desc: string): PlannedStep[] {
  const last = steps[steps.length - 1];
  if (last === undefined || last.report.kind !== 'progress') return steps;
  const failed: PlannedStep = { ...last, report: { kind: 'progress', body: { ...last.report.body, progress: code, desc } } };
  return [...steps.slice(0, -1), failed];
}

/** Swaps the reports of each pair of steps and keeps the timing, so 0, 20, 40, 60 goes out as 20, 0, 60, 40. */
function swapPairs(steps: PlannedStep[]): PlannedStep[] {
  const swapped = steps.map((step) => ({ ...step }));
  for (let index = 0; index + 1 < swapped.length; index += 2) {
    const first = swapped[index]!;
    const second = swapped[index + 1]!;
    [first.report, second.report] = [second.report, first.report];
  }
  return swapped;
}

function withStaleReports(steps: PlannedStep[], staleVersion: string): PlannedStep[] {
  return steps.flatMap((step) => {
    if (step.report.kind !== 'progress') return [step];
    const stale: PlannedStep = {
      delayMs: 0,
      report: { kind: 'progress', body: { ...step.report.body, version: staleVersion, desc: 'stale report of another version' } },
      copies: 1,
    };
    return [step, stale];
  });
}

/** The version stale reports name: the configured one, else the current firmware_ver unless it is the target. */
function staleVersionFor(configured: string | undefined, currentVersion: string, targetVersion: string): string {
  if (configured !== undefined) return configured;
  return currentVersion === targetVersion ? `${targetVersion}-stale` : currentVersion;
}

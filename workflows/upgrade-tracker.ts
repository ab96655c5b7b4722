import { ProgressCode } from '../protocol/progress-code';
import { FailureReason } from './failure-reason';

/** Phase of a device upgrade. The last four are terminal. */
export type UpgradePhase =
  | 'publishing'
  | 'downloading'
  | 'verifying'
  | 'backoff'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped';

export const TERMINAL_PHASES: ReadonlySet<UpgradePhase> = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/** A progress report forwarded by the bridge. Times are milliseconds since the epoch. */
export interface ProgressSignal {
  messageId: string;
  version: string;
  type: string;
  progress: number;
  desc?: string;
  receivedAt: number;
}

/** A status report forwarded by the bridge; `firmwareVer` is absent when the report did not carry it. */
export interface StatusSignal {
  messageId: string;
  firmwareVer?: string;
  receivedAt: number;
}

/** One attempt: one `$ota_upgrade` command and what the device did with it. */
export interface AttemptRecord {
  attempt: number;
  requestId: string;
  startedAt: number;
  publishedAt: number | null;
  endedAt: number | null;
  lastProgress: number | null;
  reason: FailureReason | null;
  desc: string | null;
}

/** Upgrade state as the state query returns it. It never changes once the phase is terminal. */
export interface UpgradeState {
  productName: string;
  deviceName: string;
  campaignWorkflowId: string | null;
  targetVersion: string;
  firmwareType: string;
  phase: UpgradePhase;
  /** Latest accepted progress of the current attempt: 0-100, a negative error code, or null before any. */
  progress: number | null;
  desc: string | null;
  attempt: number;
  maxAttempts: number;
  attempts: AttemptRecord[];
  failureReason: FailureReason | null;
  /** Reason for skipping the upgrade, such as already_installed. */
  skipReason: string | null;
  /** Latest firmware_ver the device reported while this upgrade ran. */
  reportedVersion: string | null;
  /** Reports that changed nothing: duplicates, regressions, other versions, or after the end. */
  ignoredReports: number;
  startedAt: number;
  updatedAt: number;
  endedAt: number | null;
}

/** Effect of applying one report, for logging and tests. */
export type ReportEffect =
  | 'progressed'
  | 'download_complete'
  | 'succeeded'
  | 'attempt_failed'
  | 'ignored_terminal'
  | 'ignored_not_running'
  | 'ignored_duplicate'
  | 'ignored_other_version'
  | 'ignored_regression'
  | 'ignored_no_version';

// A redelivered QoS 1 report carries the messageId of the original, so remembering recent ids filters
// duplicates. Bounded so that a device flooding reports cannot grow the workflow's state.
const REMEMBERED_MESSAGE_IDS = 64;

const ERROR_REASONS: Record<number, FailureReason> = {
  [ProgressCode.DOWNLOAD_ERROR]: FailureReason.DOWNLOAD_ERROR,
  [ProgressCode.MD5_ERROR]: FailureReason.MD5_ERROR,
  [ProgressCode.INSTALL_ERROR]: FailureReason.INSTALL_ERROR,
  [ProgressCode.OTHER_ERROR]: FailureReason.DEVICE_ERROR,
};

/**
 * The state machine of one device upgrade, free of Temporal calls so that it can be tested directly.
 * The workflow feeds it signals and timer outcomes; it decides what each report means.
 */
export class UpgradeTracker {
  private readonly state: UpgradeState;
  private readonly recentMessageIds: string[] = [];
  private lastProgressTime: number | null = null;
  /** Latest report of another firmware_ver in the current attempt, before the download completed. */
  private otherVersionReport: { messageId: string; firmwareVer: string } | null = null;

  constructor(init: {
    productName: string;
    deviceName: string;
    campaignWorkflowId?: string;
    targetVersion: string;
    firmwareType: string;
    maxAttempts: number;
    now: number;
  }) {
    this.state = {
      productName: init.productName,
      deviceName: init.deviceName,
      campaignWorkflowId: init.campaignWorkflowId ?? null,
      targetVersion: init.targetVersion,
      firmwareType: init.firmwareType,
      phase: 'publishing',
      progress: null,
      desc: null,
      attempt: 0,
      maxAttempts: init.maxAttempts,
      attempts: [],
      failureReason: null,
      skipReason: null,
      reportedVersion: null,
      ignoredReports: 0,
      startedAt: init.now,
      updatedAt: init.now,
      endedAt: null,
    };
  }

  get phase(): UpgradePhase {
    return this.state.phase;
  }

  get isTerminal(): boolean {
    return TERMINAL_PHASES.has(this.state.phase);
  }

  get currentAttempt(): AttemptRecord | undefined {
    return this.state.attempts[this.state.attempts.length - 1];
  }

  /** Time of the latest accepted progress of the current attempt, or when its command was published. */
  lastProgressAt(): number {
    const attempt = this.currentAttempt;
    return this.lastProgressTime ?? attempt?.publishedAt ?? attempt?.startedAt ?? this.state.startedAt;
  }

  /** Returns a copy of the state, safe to hand to a query or a log. */
  snapshot(): UpgradeState {
    return { ...this.state, attempts: this.state.attempts.map((attempt) => ({ ...attempt })) };
  }

  startAttempt(requestId: string, now: number): AttemptRecord {
    this.assertRunning('start an attempt');
    const record: AttemptRecord = {
      attempt: this.state.attempt + 1,
      requestId,
      startedAt: now,
      publishedAt: null,
      endedAt: null,
      lastProgress: null,
      reason: null,
      desc: null,
    };
    this.state.attempt = record.attempt;
    this.state.attempts.push(record);
    this.state.phase = 'publishing';
    this.state.progress = null;
    this.state.desc = null;
    this.lastProgressTime = null;
    this.otherVersionReport = null;
    this.touch(now);
    return record;
  }

  markPublished(now: number): void {
    const attempt = this.currentAttempt;
    if (!attempt || this.isTerminal) return;
    attempt.publishedAt = now;
    // A fast device may already have reported progress before the publish activity returned.
    if (this.state.phase === 'publishing') this.state.phase = 'downloading';
    this.touch(now);
  }

  applyProgress(report: ProgressSignal, now: number): ReportEffect {
    if (this.isTerminal) return this.ignore('ignored_terminal');
    if (!this.isAttemptActive()) return this.ignore('ignored_not_running');
    if (this.isDuplicate(report.messageId)) return this.ignore('ignored_duplicate');
    if (report.version !== this.state.targetVersion || report.type !== this.state.firmwareType) {
      return this.ignore('ignored_other_version');
    }

    const attempt = this.currentAttempt!;
    if (report.progress < 0) {
      const reason = ERROR_REASONS[report.progress] ?? FailureReason.DEVICE_ERROR;
      this.state.progress = report.progress;
      this.state.desc = report.desc ?? null;
      attempt.lastProgress = report.progress;
      this.failAttempt(reason, report.desc ?? null, now);
      return 'attempt_failed';
    }

    // Progress only moves forward within an attempt; anything else is a duplicate or a late report.
    if (this.state.progress !== null && report.progress <= this.state.progress) return this.ignore('ignored_regression');
    this.state.progress = report.progress;
    this.state.desc = report.desc ?? null;
    attempt.lastProgress = report.progress;
    this.lastProgressTime = now;
    if (this.state.phase === 'publishing') this.state.phase = 'downloading';
    this.touch(now);
    if (report.progress === ProgressCode.DOWNLOAD_COMPLETE) {
      this.state.phase = 'verifying';
      // Reports can overtake each other on the way here. A device creates message ids in order (they are
      // ObjectIds), so a report of another version with a later id than this one came after the download.
      const other = this.otherVersionReport;
      if (other !== null && other.messageId > report.messageId) {
        this.failAttempt(FailureReason.VERSION_MISMATCH, `device reported firmware_ver ${other.firmwareVer}`, now);
        return 'attempt_failed';
      }
      return 'download_complete';
    }
    return 'progressed';
  }

  applyStatus(report: StatusSignal, now: number): ReportEffect {
    if (this.isTerminal) return this.ignore('ignored_terminal');
    if (report.firmwareVer === undefined) return this.ignore('ignored_no_version');
    if (this.isDuplicate(report.messageId)) return this.ignore('ignored_duplicate');
    this.state.reportedVersion = report.firmwareVer;
    this.touch(now);

    // The target version reported at any point of an attempt, or while waiting to retry, means the
    // device runs it: the report of progress 100 may have been lost or may still be on its way.
    if (report.firmwareVer === this.state.targetVersion) {
      if (this.isAttemptActive() || this.state.phase === 'backoff') {
        this.succeed(now);
        return 'succeeded';
      }
      return this.ignore('ignored_not_running');
    }
    // Any other version after the download completed means the device came back on the wrong firmware.
    // Before that, the device is still running its old firmware, which it may report at any time.
    if (this.state.phase === 'verifying') {
      this.failAttempt(FailureReason.VERSION_MISMATCH, `device reported firmware_ver ${report.firmwareVer}`, now);
      return 'attempt_failed';
    }
    if (this.isAttemptActive() && (this.otherVersionReport === null || report.messageId > this.otherVersionReport.messageId)) {
      this.otherVersionReport = { messageId: report.messageId, firmwareVer: report.firmwareVer };
    }
    return 'ignored_other_version';
  }

  /** Accepts a stored status read from the device registry: succeeds when it shows the target
   *  version written after the attempt started. Returns whether it succeeded. */
  applyStoredStatus(firmwareVer: string | undefined, statusUpdatedAt: number | undefined, now: number): boolean {
    if (!this.isAttemptActive() || firmwareVer !== this.state.targetVersion) return false;
    const attempt = this.currentAttempt!;
    if (statusUpdatedAt === undefined || statusUpdatedAt < attempt.startedAt) return false;
    this.state.reportedVersion = firmwareVer;
    this.succeed(now);
    return true;
  }

  failAttempt(reason: FailureReason, desc: string | null, now: number): void {
    if (this.isTerminal) return;
    const attempt = this.currentAttempt;
    if (attempt && attempt.endedAt === null) {
      attempt.endedAt = now;
      attempt.reason = reason;
      attempt.desc = desc;
    }
    this.state.failureReason = reason;
    this.state.phase = 'backoff';
    this.touch(now);
  }

  /** Marks the upgrade failed for good with the reason of its last attempt. */
  fail(now: number): void {
    if (this.isTerminal) return;
    this.state.phase = 'failed';
    this.end(now);
  }

  succeed(now: number): void {
    if (this.isTerminal) return;
    const attempt = this.currentAttempt;
    if (attempt && attempt.endedAt === null) attempt.endedAt = now;
    this.state.failureReason = null;
    this.state.phase = 'succeeded';
    this.end(now);
  }

  skip(reason: string, now: number): void {
    if (this.isTerminal) return;
    this.state.skipReason = reason;
    this.state.phase = 'skipped';
    this.end(now);
  }

  cancel(now: number): void {
    if (this.isTerminal) return;
    const attempt = this.currentAttempt;
    if (attempt && attempt.endedAt === null) attempt.endedAt = now;
    this.state.phase = 'cancelled';
    this.end(now);
  }

  private end(now: number): void {
    this.state.endedAt = now;
    this.touch(now);
  }

  private isAttemptActive(): boolean {
    const phase = this.state.phase;
    return phase === 'publishing' || phase === 'downloading' || phase === 'verifying';
  }

  private isDuplicate(messageId: string): boolean {
    if (this.recentMessageIds.includes(messageId)) return true;
    this.recentMessageIds.push(messageId);
    if (this.recentMessageIds.length > REMEMBERED_MESSAGE_IDS) this.recentMessageIds.shift();
    return false;
  }

  private ignore(effect: ReportEffect): ReportEffect {
    // The state is final once terminal, so reports after the end are not even counted.
    if (!this.isTerminal) this.state.ignoredReports += 1;
    return effect;
  }

  private touch(now: number): void {
    this.state.updatedAt = now;
  }

  private assertRunning(action: string): void {
    if (this.isTerminal) throw new Error(`cannot ${action}: the upgrade is already ${this.state.phase}`);
  }
}

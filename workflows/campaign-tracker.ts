import type { CampaignCarriedState, CampaignInput } from './campaign-input';
import type {
  CampaignCounts,
  CampaignState,
  CampaignView,
  DeviceFinishedReport,
  DeviceOutcome,
  DeviceOutcomeRecord,
  DeviceStartResult,
} from './campaign-types';
import { StartRateLimiter } from './start-rate-limiter';
import { FailureReason } from './failure-reason';

interface InFlightEntry {
  /** Null while the start activity that starts it is running. */
  runId: string | null;
  wave: boolean;
  startedAt: number;
  /** Set when the device's report arrived before its start result did. */
  finishedEarly: boolean;
  cancelSent: boolean;
}

type WaveState = NonNullable<CampaignCarriedState['wave']>;

const TIMEOUT_REASONS: ReadonlySet<string> = new Set([
  FailureReason.STALL_TIMEOUT,
  FailureReason.ATTEMPT_TIMEOUT,
  FailureReason.VERIFY_TIMEOUT,
]);

/** Maps the end of an upgrade workflow to the campaign's outcome: timeouts are told apart from failures. */
export function outcomeOf(report: Pick<DeviceFinishedReport, 'phase' | 'reason'>): DeviceOutcome {
  if (report.phase === 'failed') return report.reason !== null && TIMEOUT_REASONS.has(report.reason) ? 'timed_out' : 'failed';
  return report.phase;
}

const COUNT_FIELDS: Record<DeviceOutcome, keyof CampaignCounts> = {
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timedOut',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

/** Error thrown by a control update that the campaign's state does not allow. */
export class CampaignStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CampaignStateError';
  }
}

/**
 * The state machine of a campaign, free of Temporal calls so that it can be tested directly: the
 * window of devices in flight, the start rate, the first wave, the abort rule, pause, resume and cancel,
 * outcome counting with duplicate reports removed, and the buffer of outcomes to write.
 */
export class CampaignTracker {
  /** Grows on every change that signals or updates make, so the workflow can wait for one. */
  version = 0;
  /** Device reports received by this run, to continue as new before the signal limit. */
  signalsThisRun = 0;

  private stateValue: CampaignState;
  private readonly counts: CampaignCounts;
  private targetsPreparedValue: boolean;
  private cursorValue: string | null;
  private exhaustedValue: boolean;
  private readonly inFlight = new Map<string, InFlightEntry>();
  private pendingOutcomes: DeviceOutcomeRecord[];
  private wave: WaveState | null;
  private abortReasonValue: string | null;
  private startedAt: number | null;
  private endedAt: number | null;
  private readonly limiter: StartRateLimiter;
  private lastReportAt: number;
  /** Targets that got a start result: a workflow, or a skip before one. */
  private handled: number;
  private duplicateReports: number;
  private readonly runNumber: number;

  constructor(
    private readonly input: CampaignInput,
    now: number,
  ) {
    const carried = input.carried;
    if (carried) {
      this.stateValue = carried.state;
      this.counts = { ...carried.counts };
      this.targetsPreparedValue = carried.targetsPrepared;
      this.cursorValue = carried.cursor;
      this.exhaustedValue = carried.exhausted;
      for (const entry of carried.inFlight) {
        this.inFlight.set(entry.deviceName, { runId: entry.runId, wave: entry.wave, startedAt: entry.startedAt, finishedEarly: false, cancelSent: false });
      }
      this.pendingOutcomes = [...carried.pendingOutcomes];
      this.wave = carried.wave ? { ...carried.wave } : null;
      this.abortReasonValue = carried.abortReason;
      this.startedAt = carried.startedAt;
      this.endedAt = carried.endedAt;
      this.limiter = new StartRateLimiter(input.rollout.maxStartsPerMinute, carried.rateTokens, carried.rateUpdatedAt);
      this.lastReportAt = carried.lastReportAt;
      this.handled = carried.handled;
      this.duplicateReports = carried.duplicateReports;
      this.runNumber = carried.runNumber + 1;
      return;
    }

    this.stateValue = input.startAt !== null && input.startAt > now ? 'scheduled' : 'running';
    this.counts = initialCounts(input);
    // A retry round works through the outcome records of failed devices, whose count is known already.
    this.targetsPreparedValue = input.round > 1;
    this.cursorValue = null;
    this.exhaustedValue = false;
    this.pendingOutcomes = [];
    this.wave = null;
    this.abortReasonValue = null;
    this.startedAt = this.stateValue === 'running' ? now : null;
    this.endedAt = null;
    this.limiter = StartRateLimiter.full(input.rollout.maxStartsPerMinute, now);
    this.lastReportAt = now;
    // Devices that earlier rounds handed to the start activity, less those this round retries. Devices an
    // aborted or cancelled round never started are not retried, so they stay in notStarted.
    const base = input.baseCounts;
    this.handled = base ? base.started + base.skipped - base.failed - base.timedOut : 0;
    this.duplicateReports = 0;
    this.runNumber = 1;
  }

  get state(): CampaignState {
    return this.stateValue;
  }

  get targetsPrepared(): boolean {
    return this.targetsPreparedValue;
  }

  get cursor(): string | null {
    return this.cursorValue;
  }

  get exhausted(): boolean {
    return this.exhaustedValue;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get abortReason(): string | null {
    return this.abortReasonValue;
  }

  /** Moves a scheduled campaign to running once its start time has come. */
  beginRunning(now: number): void {
    if (this.stateValue !== 'scheduled') return;
    this.stateValue = 'running';
    this.startedAt = now;
  }

  /** Records the number of targets and sets up the first wave, which needs it for a percentage. */
  setTotal(total: number): void {
    this.counts.total = total;
    this.targetsPreparedValue = true;
    const firstWave = this.input.rollout.firstWave;
    if (firstWave && this.input.round === 1 && this.wave === null && total > 0) {
      const size = firstWave.count ?? Math.ceil((firstWave.percent! / 100) * total);
      this.wave = { size: Math.min(size, total), started: 0, finished: 0, succeeded: 0, judged: 0, state: 'running' };
    }
  }

  /** How many devices may be handed to the start activity now, at most `maxBatch`. */
  startCapacity(now: number, maxBatch: number): number {
    if (this.stateValue !== 'running' || this.exhaustedValue || !this.targetsPreparedValue) return 0;
    let capacity = Math.min(maxBatch, this.input.rollout.maxConcurrent - this.inFlight.size, this.limiter.available(now));
    if (this.wave?.state === 'running') capacity = Math.min(capacity, this.wave.size - this.wave.started);
    return Math.max(0, capacity);
  }

  /** Milliseconds until the rate limit allows another start, or undefined when starting waits for nothing timed. */
  msUntilStartAllowed(now: number): number | undefined {
    if (this.stateValue !== 'running' || this.exhaustedValue) return undefined;
    if (this.inFlight.size >= this.input.rollout.maxConcurrent) return undefined;
    if (this.wave?.state === 'running' && this.wave.started >= this.wave.size) return undefined;
    const wait = this.limiter.msUntilNext(now);
    return wait > 0 ? wait : undefined;
  }

  /** Registers devices handed to the start activity, so that a report arriving before its result counts. */
  beginStarting(deviceNames: readonly string[], now: number): void {
    for (const deviceName of deviceNames) {
      const wave = this.wave?.state === 'running' && this.wave.started < this.wave.size;
      if (wave) this.wave!.started += 1;
      this.inFlight.set(deviceName, { runId: null, wave, startedAt: now, finishedEarly: false, cancelSent: false });
    }
    const last = deviceNames[deviceNames.length - 1];
    if (last !== undefined) this.cursorValue = last;
  }

  applyStartResults(results: readonly DeviceStartResult[], now: number): void {
    for (const result of results) {
      const entry = this.inFlight.get(result.deviceName);
      if (!entry) continue;
      this.handled += 1;
      if (result.status === 'skipped') {
        this.inFlight.delete(result.deviceName);
        this.recordOutcome(entry, {
          deviceName: result.deviceName,
          outcome: 'skipped',
          reason: result.reason,
          attempts: 0,
          lastProgress: null,
          runId: null,
          finishedAt: now,
        });
        continue;
      }
      this.limiter.consume(1, now);
      this.counts.started += 1;
      if (entry.finishedEarly) this.inFlight.delete(result.deviceName);
      else entry.runId = result.runId;
    }
    this.evaluateRules();
  }

  /** Marks the target list as read to its end. */
  markExhausted(): void {
    this.exhaustedValue = true;
    // A wave larger than what was left to start is judged on the devices it did get.
    if (this.wave?.state === 'running' && this.wave.started < this.wave.size) this.wave.size = this.wave.started;
    this.evaluateRules();
  }

  /** Counts a device's end; returns false for a duplicate or a report about a run the campaign did not start. */
  applyFinished(report: DeviceFinishedReport, now: number): boolean {
    this.signalsThisRun += 1;
    this.lastReportAt = now;
    this.version += 1;
    const entry = this.inFlight.get(report.deviceName);
    if (!entry || entry.finishedEarly || (entry.runId !== null && entry.runId !== report.runId)) {
      this.duplicateReports += 1;
      return false;
    }
    if (entry.runId === null) entry.finishedEarly = true;
    else this.inFlight.delete(report.deviceName);

    this.recordOutcome(entry, {
      deviceName: report.deviceName,
      outcome: outcomeOf(report),
      reason: report.reason,
      attempts: report.attempts,
      lastProgress: report.lastProgress,
      runId: report.runId,
      finishedAt: now,
    });
    this.evaluateRules();
    return true;
  }

  validatePause(): void {
    if (this.stateValue !== 'running') throw new CampaignStateError(`cannot pause a campaign that is ${this.stateValue}; only a running campaign can be paused`);
  }

  pause(): void {
    this.validatePause();
    this.stateValue = 'paused';
    this.version += 1;
  }

  validateResume(): void {
    if (this.stateValue !== 'paused') throw new CampaignStateError(`cannot resume a campaign that is ${this.stateValue}; only a paused campaign can be resumed`);
  }

  resume(): void {
    this.validateResume();
    this.stateValue = 'running';
    this.version += 1;
  }

  validateCancel(): void {
    if (this.stateValue === 'cancelled' || this.stateValue === 'completed') {
      throw new CampaignStateError(`cannot cancel a campaign that is already ${this.stateValue}`);
    }
  }

  cancel(now: number): void {
    this.validateCancel();
    this.stateValue = 'cancelled';
    if (this.startedAt === null) this.startedAt = now;
    this.version += 1;
  }

  /** Runs in flight that still need a cancellation request; each is returned once. */
  takeRunsToCancel(): { deviceName: string; runId: string }[] {
    if (this.stateValue !== 'cancelled') return [];
    const runs: { deviceName: string; runId: string }[] = [];
    for (const [deviceName, entry] of this.inFlight) {
      if (entry.runId !== null && !entry.cancelSent && !entry.finishedEarly) {
        entry.cancelSent = true;
        runs.push({ deviceName, runId: entry.runId });
      }
    }
    return runs;
  }

  /** Runs in flight to check against Temporal when no report arrived for `intervalMs`, oldest first. */
  staleRuns(now: number, intervalMs: number, limit: number): { deviceName: string; runId: string }[] {
    if (this.inFlight.size === 0 || now - this.lastReportAt < intervalMs) return [];
    return [...this.inFlight.entries()]
      .filter(([, entry]) => entry.runId !== null && !entry.finishedEarly)
      .sort(([, a], [, b]) => a.startedAt - b.startedAt)
      .slice(0, limit)
      .map(([deviceName, entry]) => ({ deviceName, runId: entry.runId! }));
  }

  /** Milliseconds until the devices in flight are due for a check, or undefined with none in flight. */
  msUntilReconcile(now: number, intervalMs: number): number | undefined {
    if (this.inFlight.size === 0) return undefined;
    return Math.max(1, this.lastReportAt + intervalMs - now);
  }

  /** Restarts the reconcile interval after a check found every run still open. */
  noteReconciled(now: number): void {
    this.lastReportAt = now;
  }

  /** True when nothing is left to start and nothing is in flight. */
  isFinished(): boolean {
    if (this.inFlight.size > 0) return false;
    if (this.stateValue === 'aborted' || this.stateValue === 'cancelled') return true;
    return this.exhaustedValue && (this.stateValue === 'running' || this.stateValue === 'paused');
  }

  /** Ends the campaign: a campaign that was neither aborted nor cancelled is completed. */
  finish(now: number): void {
    if (this.stateValue === 'running' || this.stateValue === 'paused') this.stateValue = 'completed';
    this.endedAt = now;
  }

  hasOutcomesToFlush(now: number): boolean {
    const oldest = this.pendingOutcomes[0];
    if (oldest === undefined) return false;
    return this.pendingOutcomes.length >= this.input.tuning.outcomeFlushSize || now - oldest.finishedAt >= this.input.tuning.outcomeFlushIntervalMs;
  }

  msUntilFlush(now: number): number | undefined {
    const oldest = this.pendingOutcomes[0];
    if (oldest === undefined) return undefined;
    return Math.max(1, oldest.finishedAt + this.input.tuning.outcomeFlushIntervalMs - now);
  }

  /** Hands over the buffered outcomes for writing, emptying the buffer. */
  takeOutcomes(): DeviceOutcomeRecord[] {
    const outcomes = this.pendingOutcomes;
    this.pendingOutcomes = [];
    return outcomes;
  }

  view(): CampaignView {
    const total = this.counts.total;
    const handled = this.handled;
    const done = this.counts.succeeded + this.counts.failed + this.counts.timedOut + this.counts.skipped + this.counts.cancelled;
    return {
      campaignId: this.input.campaignId,
      productName: this.input.productName,
      targetVersion: this.input.firmware.version,
      state: this.stateValue,
      round: this.input.round,
      counts: { ...this.counts },
      inFlight: this.inFlight.size,
      notStarted: total === null ? null : Math.max(0, total - handled),
      percentDone: total === null ? null : total === 0 ? 100 : Math.round((done / total) * 10_000) / 100,
      abortReason: this.abortReasonValue,
      firstWave: this.wave ? { size: this.wave.size, started: this.wave.started, finished: this.wave.finished, succeeded: this.wave.succeeded, state: this.wave.state } : null,
      startAt: this.input.startAt,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      duplicateReports: this.duplicateReports,
      runNumber: this.runNumber,
    };
  }

  /** The state to carry into the next run. Only runs with no start activity in progress may continue as new. */
  carry(): CampaignCarriedState {
    const rate = this.limiter.carry();
    return {
      state: this.stateValue,
      counts: { ...this.counts },
      targetsPrepared: this.targetsPreparedValue,
      cursor: this.cursorValue,
      exhausted: this.exhaustedValue,
      inFlight: [...this.inFlight.entries()]
        .filter(([, entry]) => entry.runId !== null && !entry.finishedEarly)
        .map(([deviceName, entry]) => ({ deviceName, runId: entry.runId!, wave: entry.wave, startedAt: entry.startedAt })),
      pendingOutcomes: [...this.pendingOutcomes],
      wave: this.wave ? { ...this.wave } : null,
      abortReason: this.abortReasonValue,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      rateTokens: rate.tokens,
      rateUpdatedAt: rate.updatedAt,
      lastReportAt: this.lastReportAt,
      handled: this.handled,
      duplicateReports: this.duplicateReports,
      runNumber: this.runNumber,
    };
  }

  private recordOutcome(entry: InFlightEntry, record: DeviceOutcomeRecord): void {
    this.pendingOutcomes.push(record);
    this.counts[COUNT_FIELDS[record.outcome]] = (this.counts[COUNT_FIELDS[record.outcome]] as number) + 1;
    if (entry.wave && this.wave) {
      this.wave.finished += 1;
      if (record.outcome === 'succeeded') this.wave.succeeded += 1;
      if (record.outcome !== 'skipped' && record.outcome !== 'cancelled') this.wave.judged += 1;
    }
  }

  private evaluateRules(): void {
    this.evaluateWave();
    this.evaluateAbortRule();
  }

  private evaluateWave(): void {
    const wave = this.wave;
    const rule = this.input.rollout.firstWave;
    if (!wave || !rule || wave.state !== 'running' || wave.started < wave.size || wave.finished < wave.size) return;
    const successPercent = wave.judged === 0 ? 100 : (wave.succeeded / wave.judged) * 100;
    if (successPercent >= rule.minSuccessPercent) {
      wave.state = 'passed';
      return;
    }
    wave.state = 'failed';
    this.abort(
      `first wave succeeded on ${formatPercent(successPercent)}% of ${wave.judged} finished devices, below the required ${rule.minSuccessPercent}%`,
    );
  }

  private evaluateAbortRule(): void {
    const rule = this.input.rollout.abort;
    if (!rule || (this.stateValue !== 'running' && this.stateValue !== 'paused')) return;
    const failures = this.counts.failed + this.counts.timedOut;
    const finished = this.counts.succeeded + failures;
    if (finished < rule.minFinished) return;
    const failurePercent = (failures / finished) * 100;
    if (failurePercent < rule.failurePercent) return;
    this.abort(
      `${failures} of ${finished} finished devices failed or timed out (${formatPercent(failurePercent)}%), ` +
        `reaching the abort threshold of ${rule.failurePercent}% after at least ${rule.minFinished} finished devices`,
    );
  }

  private abort(reason: string): void {
    if (this.stateValue !== 'running' && this.stateValue !== 'paused') return;
    this.stateValue = 'aborted';
    this.abortReasonValue = reason;
  }
}

function initialCounts(input: CampaignInput): CampaignCounts {
  const base = input.baseCounts;
  if (!base) return { total: null, started: 0, succeeded: 0, failed: 0, timedOut: 0, skipped: 0, cancelled: 0 };
  // A retry round moves the failed and timed-out devices of earlier rounds back to waiting.
  return { ...base, started: base.started - base.failed - base.timedOut, failed: 0, timedOut: 0 };
}

function formatPercent(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

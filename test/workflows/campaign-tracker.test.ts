import { DEFAULT_CAMPAIGN_TUNING, type CampaignInput } from '../../workflows/campaign-input';
import { CampaignStateError, CampaignTracker, outcomeOf } from '../../workflows/campaign-tracker';
import type { DeviceFinishedReport } from '../../workflows/campaign-types';
import { StartRateLimiter } from '../../workflows/start-rate-limiter';

const T0 = 1_700_000_000_000;

function campaignInput(overrides: Partial<CampaignInput> = {}, rollout: Partial<CampaignInput['rollout']> = {}): CampaignInput {
  return {
    campaignId: 'c1',
    productName: 'lamp',
    firmware: { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
    rollout: { maxConcurrent: 3, maxStartsPerMinute: 6_000, ...rollout },
    upgrade: {
      timeouts: { stallMs: 1_000, verifyMs: 1_000, attemptMs: 10_000, commandTtlMs: 10_000 },
      retry: { maxAttempts: 1, initialBackoffMs: 100, backoffCoefficient: 2, maxBackoffMs: 1_000, retryableReasons: [] },
    },
    startAt: null,
    tuning: { ...DEFAULT_CAMPAIGN_TUNING, outcomeFlushSize: 2, outcomeFlushIntervalMs: 1_000 },
    round: 1,
    ...overrides,
  };
}

function finished(deviceName: string, phase: DeviceFinishedReport['phase'], reason: string | null = null): DeviceFinishedReport {
  return { deviceName, runId: `run-${deviceName}`, phase, reason, attempts: 1, lastProgress: phase === 'succeeded' ? 100 : 40 };
}

/** Starts devices through the tracker as the workflow would, each getting a workflow. */
function start(tracker: CampaignTracker, deviceNames: string[], now = T0): void {
  tracker.beginStarting(deviceNames, now);
  tracker.applyStartResults(deviceNames.map((deviceName) => ({ deviceName, status: 'started' as const, runId: `run-${deviceName}` })), now);
}

describe('CampaignTracker', () => {
  it('keeps the window within maxConcurrent', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(10);
    expect(tracker.startCapacity(T0, 50)).toBe(3);
    start(tracker, ['a', 'b']);
    expect(tracker.startCapacity(T0, 50)).toBe(1);
    start(tracker, ['c']);
    expect(tracker.startCapacity(T0, 50)).toBe(0);
    tracker.applyFinished(finished('a', 'succeeded'), T0);
    expect(tracker.startCapacity(T0, 50)).toBe(1);
  });

  it('starts nothing before targets are prepared', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    expect(tracker.startCapacity(T0, 50)).toBe(0);
  });

  it('limits starts to the rate', () => {
    // 60 a minute: one a second, with a bucket of ten.
    const tracker = new CampaignTracker(campaignInput({}, { maxConcurrent: 100, maxStartsPerMinute: 60 }), T0);
    tracker.setTotal(100);
    expect(tracker.startCapacity(T0, 50)).toBe(10);
    start(tracker, Array.from({ length: 10 }, (_, i) => `d${i}`));
    expect(tracker.startCapacity(T0, 50)).toBe(0);
    expect(tracker.msUntilStartAllowed(T0)).toBe(1_000);
    expect(tracker.startCapacity(T0 + 3_000, 50)).toBe(3);
  });

  it('counts outcomes and ignores duplicate reports', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(3);
    start(tracker, ['a', 'b', 'c']);
    expect(tracker.applyFinished(finished('a', 'succeeded'), T0)).toBe(true);
    expect(tracker.applyFinished(finished('a', 'succeeded'), T0)).toBe(false);
    expect(tracker.applyFinished({ ...finished('b', 'failed', 'md5_error'), runId: 'other-run' }, T0)).toBe(false);
    expect(tracker.applyFinished(finished('b', 'failed', 'md5_error'), T0)).toBe(true);
    expect(tracker.applyFinished(finished('c', 'failed', 'stall_timeout'), T0)).toBe(true);

    const view = tracker.view();
    expect(view.counts).toEqual({ total: 3, started: 3, succeeded: 1, failed: 1, timedOut: 1, skipped: 0, cancelled: 0 });
    expect(view.duplicateReports).toBe(2);
    expect(view.inFlight).toBe(0);
    expect(view.percentDone).toBe(100);
  });

  it('tells timeouts apart from failures', () => {
    expect(outcomeOf({ phase: 'failed', reason: 'verify_timeout' })).toBe('timed_out');
    expect(outcomeOf({ phase: 'failed', reason: 'attempt_timeout' })).toBe('timed_out');
    expect(outcomeOf({ phase: 'failed', reason: 'version_mismatch' })).toBe('failed');
    expect(outcomeOf({ phase: 'skipped', reason: 'already_installed' })).toBe('skipped');
    expect(outcomeOf({ phase: 'cancelled', reason: null })).toBe('cancelled');
  });

  it('records skips at start without counting them as started', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(2);
    tracker.beginStarting(['a', 'b'], T0);
    tracker.applyStartResults(
      [
        { deviceName: 'a', status: 'skipped', reason: 'already_installed' },
        { deviceName: 'b', status: 'skipped', reason: 'upgrade_running' },
      ],
      T0,
    );
    const view = tracker.view();
    expect(view.counts.skipped).toBe(2);
    expect(view.counts.started).toBe(0);
    expect(view.notStarted).toBe(0);
    expect(view.inFlight).toBe(0);
    expect(tracker.takeOutcomes().map((outcome) => [outcome.deviceName, outcome.reason])).toEqual([
      ['a', 'already_installed'],
      ['b', 'upgrade_running'],
    ]);
  });

  it('counts a report that arrives before its start result once', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(1);
    tracker.beginStarting(['a'], T0);
    expect(tracker.applyFinished(finished('a', 'skipped', 'already_installed'), T0)).toBe(true);
    tracker.applyStartResults([{ deviceName: 'a', status: 'started', runId: 'run-a' }], T0);
    expect(tracker.applyFinished(finished('a', 'skipped', 'already_installed'), T0)).toBe(false);
    tracker.markExhausted();
    expect(tracker.view().counts.skipped).toBe(1);
    expect(tracker.view().counts.started).toBe(1);
    expect(tracker.isFinished()).toBe(true);
  });

  it('aborts when failures reach the threshold after the minimum', () => {
    const tracker = new CampaignTracker(campaignInput({}, { maxConcurrent: 10, abort: { failurePercent: 50, minFinished: 4 } }), T0);
    tracker.setTotal(10);
    start(tracker, ['a', 'b', 'c', 'd', 'e']);
    tracker.applyFinished(finished('a', 'failed', 'md5_error'), T0);
    tracker.applyFinished(finished('b', 'failed', 'md5_error'), T0);
    tracker.applyFinished(finished('c', 'succeeded'), T0);
    // Two failures of three finished are past 50%, but the rule waits for four finished devices.
    expect(tracker.state).toBe('running');
    tracker.applyFinished(finished('d', 'succeeded'), T0);
    expect(tracker.state).toBe('aborted');
    expect(tracker.abortReason).toMatch(/2 of 4 finished devices failed or timed out \(50%\)/);
    expect(tracker.startCapacity(T0, 50)).toBe(0);
    expect(tracker.isFinished()).toBe(false);
    tracker.applyFinished(finished('e', 'succeeded'), T0);
    expect(tracker.isFinished()).toBe(true);
    tracker.finish(T0);
    expect(tracker.state).toBe('aborted');
  });

  it('holds the rest until the first wave passes', () => {
    const tracker = new CampaignTracker(campaignInput({}, { maxConcurrent: 10, firstWave: { count: 2, minSuccessPercent: 50 } }), T0);
    tracker.setTotal(10);
    expect(tracker.startCapacity(T0, 50)).toBe(2);
    start(tracker, ['a', 'b']);
    expect(tracker.startCapacity(T0, 50)).toBe(0);
    tracker.applyFinished(finished('a', 'succeeded'), T0);
    expect(tracker.startCapacity(T0, 50)).toBe(0);
    tracker.applyFinished(finished('b', 'failed', 'install_error'), T0);
    expect(tracker.view().firstWave?.state).toBe('passed');
    expect(tracker.startCapacity(T0, 50)).toBe(10);
  });

  it('aborts when the first wave falls short', () => {
    const tracker = new CampaignTracker(campaignInput({}, { maxConcurrent: 10, firstWave: { percent: 20, minSuccessPercent: 100 } }), T0);
    tracker.setTotal(10);
    expect(tracker.view().firstWave?.size).toBe(2);
    start(tracker, ['a', 'b']);
    tracker.applyFinished(finished('a', 'succeeded'), T0);
    tracker.applyFinished(finished('b', 'failed', 'version_mismatch'), T0);
    expect(tracker.state).toBe('aborted');
    expect(tracker.abortReason).toMatch(/first wave succeeded on 50% of 2 finished devices, below the required 100%/);
  });

  it('judges a wave larger than the targets left on what it got', () => {
    const tracker = new CampaignTracker(campaignInput({}, { maxConcurrent: 10, firstWave: { count: 5, minSuccessPercent: 100 } }), T0);
    tracker.setTotal(5);
    start(tracker, ['a', 'b']);
    tracker.markExhausted();
    tracker.applyFinished(finished('a', 'succeeded'), T0);
    tracker.applyFinished(finished('b', 'succeeded'), T0);
    expect(tracker.view().firstWave?.state).toBe('passed');
    expect(tracker.isFinished()).toBe(true);
  });

  it('pauses and resumes only from the right states', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(5);
    expect(() => tracker.resume()).toThrow(CampaignStateError);
    tracker.pause();
    expect(tracker.state).toBe('paused');
    expect(tracker.startCapacity(T0, 50)).toBe(0);
    expect(() => tracker.pause()).toThrow(/only a running campaign can be paused/);
    tracker.resume();
    expect(tracker.state).toBe('running');
    expect(tracker.startCapacity(T0, 50)).toBe(3);
  });

  it('cancels devices in flight once each', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(5);
    start(tracker, ['a', 'b']);
    expect(tracker.takeRunsToCancel()).toEqual([]);
    tracker.cancel(T0);
    expect(tracker.takeRunsToCancel()).toEqual([
      { deviceName: 'a', runId: 'run-a' },
      { deviceName: 'b', runId: 'run-b' },
    ]);
    expect(tracker.takeRunsToCancel()).toEqual([]);
    tracker.applyFinished(finished('a', 'cancelled'), T0);
    tracker.applyFinished(finished('b', 'cancelled'), T0);
    expect(tracker.isFinished()).toBe(true);
    tracker.finish(T0);
    expect(tracker.state).toBe('cancelled');
    expect(tracker.view().notStarted).toBe(3);
    expect(() => tracker.cancel(T0)).toThrow(/already cancelled/);
  });

  it('completes once targets are exhausted and nothing is in flight', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(1);
    start(tracker, ['a']);
    tracker.markExhausted();
    expect(tracker.isFinished()).toBe(false);
    tracker.applyFinished(finished('a', 'succeeded'), T0);
    expect(tracker.isFinished()).toBe(true);
    tracker.finish(T0 + 5);
    expect(tracker.view()).toMatchObject({ state: 'completed', endedAt: T0 + 5 });
  });

  it('buffers outcomes until the flush size or interval', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(3);
    start(tracker, ['a', 'b', 'c']);
    tracker.applyFinished(finished('a', 'succeeded'), T0);
    expect(tracker.hasOutcomesToFlush(T0)).toBe(false);
    expect(tracker.msUntilFlush(T0 + 400)).toBe(600);
    expect(tracker.hasOutcomesToFlush(T0 + 1_000)).toBe(true);
    tracker.applyFinished(finished('b', 'succeeded'), T0);
    expect(tracker.hasOutcomesToFlush(T0)).toBe(true);
    expect(tracker.takeOutcomes()).toHaveLength(2);
    expect(tracker.hasOutcomesToFlush(T0 + 5_000)).toBe(false);
  });

  it('finds stale runs after the reconcile interval', () => {
    const tracker = new CampaignTracker(campaignInput(), T0);
    tracker.setTotal(3);
    start(tracker, ['a'], T0);
    start(tracker, ['b'], T0 + 10);
    expect(tracker.staleRuns(T0 + 500, 1_000, 10)).toEqual([]);
    expect(tracker.staleRuns(T0 + 1_000, 1_000, 1)).toEqual([{ deviceName: 'a', runId: 'run-a' }]);
    tracker.noteReconciled(T0 + 1_000);
    expect(tracker.staleRuns(T0 + 1_500, 1_000, 10)).toEqual([]);
  });

  it('carries its state into the next run', () => {
    const input = campaignInput({}, { maxConcurrent: 10, maxStartsPerMinute: 60, firstWave: { count: 2, minSuccessPercent: 0 } });
    const first = new CampaignTracker(input, T0);
    first.setTotal(6);
    start(first, ['a', 'b']);
    first.applyFinished(finished('a', 'succeeded'), T0);
    first.pause();

    const second = new CampaignTracker({ ...input, carried: first.carry() }, T0 + 1);
    const view = second.view();
    expect(view.runNumber).toBe(2);
    expect(view.state).toBe('paused');
    expect(view.counts).toEqual(first.view().counts);
    expect(view.inFlight).toBe(1);
    expect(view.firstWave).toEqual(first.view().firstWave);
    expect(second.cursor).toBe('b');
    expect(second.takeOutcomes()).toHaveLength(1);
    expect(second.applyFinished(finished('b', 'succeeded'), T0 + 2)).toBe(true);
    expect(second.applyFinished(finished('a', 'succeeded'), T0 + 2)).toBe(false);
  });

  it('starts a retry round from the counts of earlier rounds', () => {
    const base = { total: 10, started: 9, succeeded: 6, failed: 2, timedOut: 1, skipped: 1, cancelled: 0 };
    const tracker = new CampaignTracker(campaignInput({ round: 2, baseCounts: base }), T0);
    expect(tracker.targetsPrepared).toBe(true);
    const view = tracker.view();
    expect(view.counts).toEqual({ total: 10, started: 6, succeeded: 6, failed: 0, timedOut: 0, skipped: 1, cancelled: 0 });
    expect(view.notStarted).toBe(3);
    expect(view.round).toBe(2);
  });

  it('keeps devices an aborted round never started', () => {
    const base = { total: 100, started: 29, succeeded: 17, failed: 12, timedOut: 0, skipped: 0, cancelled: 0 };
    const tracker = new CampaignTracker(campaignInput({ round: 2, baseCounts: base }), T0);
    const view = tracker.view();
    expect(view.counts.started).toBe(17);
    // The 12 failed devices wait for this round; the 71 never started stay as they were.
    expect(view.notStarted).toBe(83);
    expect(view.percentDone).toBe(17);
  });

  it('waits in scheduled until its start time', () => {
    const tracker = new CampaignTracker(campaignInput({ startAt: T0 + 60_000 }), T0);
    expect(tracker.state).toBe('scheduled');
    expect(() => tracker.pause()).toThrow(CampaignStateError);
    tracker.beginRunning(T0 + 60_000);
    expect(tracker.state).toBe('running');
    expect(tracker.view().startedAt).toBe(T0 + 60_000);
  });
});

describe('StartRateLimiter', () => {
  it('refills at the rate up to ten seconds of starts', () => {
    const limiter = StartRateLimiter.full(120, T0);
    expect(limiter.available(T0)).toBe(20);
    limiter.consume(20, T0);
    expect(limiter.available(T0)).toBe(0);
    expect(limiter.msUntilNext(T0)).toBe(500);
    expect(limiter.available(T0 + 1_000)).toBe(2);
    expect(limiter.available(T0 + 60_000)).toBe(20);
  });

  it('allows at least one start in a burst', () => {
    const limiter = StartRateLimiter.full(1, T0);
    expect(limiter.available(T0)).toBe(1);
    limiter.consume(1, T0);
    expect(limiter.msUntilNext(T0)).toBe(60_000);
  });
});

import { UpgradeTracker, type ProgressSignal } from '../../workflows/upgrade-tracker';

const T0 = 1_700_000_000_000;
let messageCounter = 0;

function progress(value: number, extra: Partial<ProgressSignal> = {}): ProgressSignal {
  messageCounter += 1;
  return {
    messageId: messageCounter.toString(16).padStart(24, '0'),
    version: '1.1',
    type: 'firmware',
    progress: value,
    desc: 'download',
    receivedAt: T0,
    ...extra,
  };
}

function status(firmwareVer: string | undefined) {
  messageCounter += 1;
  return { messageId: messageCounter.toString(16).padStart(24, '0'), firmwareVer, receivedAt: T0 };
}

function newTracker(): UpgradeTracker {
  const tracker = new UpgradeTracker({
    productName: 'lamp',
    deviceName: 'dev-1',
    targetVersion: '1.1',
    firmwareType: 'firmware',
    maxAttempts: 3,
    now: T0,
  });
  tracker.startAttempt('req-1', T0);
  tracker.markPublished(T0 + 1);
  return tracker;
}

describe('UpgradeTracker', () => {
  it('moves through download to verification and success', () => {
    const tracker = newTracker();
    expect(tracker.phase).toBe('downloading');
    expect(tracker.applyProgress(progress(0), T0 + 10)).toBe('progressed');
    expect(tracker.applyProgress(progress(60), T0 + 20)).toBe('progressed');
    expect(tracker.applyProgress(progress(100), T0 + 30)).toBe('download_complete');
    expect(tracker.phase).toBe('verifying');
    expect(tracker.applyStatus(status('1.1'), T0 + 40)).toBe('succeeded');

    const state = tracker.snapshot();
    expect(state.phase).toBe('succeeded');
    expect(state.progress).toBe(100);
    expect(state.reportedVersion).toBe('1.1');
    expect(state.endedAt).toBe(T0 + 40);
    expect(state.attempts[0]?.endedAt).toBe(T0 + 40);
  });

  it('ignores duplicates by message id', () => {
    const tracker = newTracker();
    const report = progress(20);
    expect(tracker.applyProgress(report, T0 + 10)).toBe('progressed');
    expect(tracker.applyProgress(report, T0 + 11)).toBe('ignored_duplicate');
    expect(tracker.snapshot().ignoredReports).toBe(1);
  });

  it('ignores regressions and repeated values', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(60), T0 + 10);
    expect(tracker.applyProgress(progress(40), T0 + 20)).toBe('ignored_regression');
    expect(tracker.applyProgress(progress(60), T0 + 30)).toBe('ignored_regression');
    expect(tracker.snapshot().progress).toBe(60);
    expect(tracker.lastProgressAt()).toBe(T0 + 10);
  });

  it('ignores reports for another version or type', () => {
    const tracker = newTracker();
    expect(tracker.applyProgress(progress(50, { version: '1.0' }), T0 + 10)).toBe('ignored_other_version');
    expect(tracker.applyProgress(progress(50, { version: '1.1.10' }), T0 + 10)).toBe('ignored_other_version');
    expect(tracker.applyProgress(progress(50, { type: 'app' }), T0 + 10)).toBe('ignored_other_version');
    expect(tracker.snapshot().progress).toBeNull();
  });

  it.each([
    [-1, 'download_error'],
    [-2, 'md5_error'],
    [-3, 'install_error'],
    [-4, 'device_error'],
  ])('ends the attempt on progress %d as %s', (code, reason) => {
    const tracker = newTracker();
    tracker.applyProgress(progress(40), T0 + 10);
    expect(tracker.applyProgress(progress(code, { desc: 'boom' }), T0 + 20)).toBe('attempt_failed');
    const state = tracker.snapshot();
    expect(state.phase).toBe('backoff');
    expect(state.failureReason).toBe(reason);
    expect(state.attempts[0]?.reason).toBe(reason);
    expect(state.attempts[0]?.desc).toBe('boom');
    expect(state.attempts[0]?.lastProgress).toBe(code);
  });

  it('accepts an install error after the download completed', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(100), T0 + 10);
    expect(tracker.applyProgress(progress(-3), T0 + 20)).toBe('attempt_failed');
    expect(tracker.snapshot().failureReason).toBe('install_error');
  });

  it('fails with version_mismatch when the device comes back on another version', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(100), T0 + 10);
    expect(tracker.applyStatus(status('1.0'), T0 + 20)).toBe('attempt_failed');
    expect(tracker.snapshot().failureReason).toBe('version_mismatch');
  });

  it('compares versions exactly', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(100), T0 + 10);
    expect(tracker.applyStatus(status('1.1.10'), T0 + 20)).toBe('attempt_failed');
    expect(tracker.snapshot().failureReason).toBe('version_mismatch');
  });

  it('keeps the old version reported during download without failing', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(40), T0 + 10);
    expect(tracker.applyStatus(status('1.0'), T0 + 20)).toBe('ignored_other_version');
    expect(tracker.phase).toBe('downloading');
    expect(tracker.snapshot().reportedVersion).toBe('1.0');
  });

  it('fails when an overtaken report shows another version after 100', () => {
    const tracker = newTracker();
    const complete = progress(100);
    // The device sent 100 and then came back on 1.0, but the status report arrived first.
    const rebooted = { messageId: 'f'.repeat(24), firmwareVer: '1.0', receivedAt: T0 };
    expect(tracker.applyStatus(rebooted, T0 + 10)).toBe('ignored_other_version');
    expect(tracker.applyProgress(complete, T0 + 20)).toBe('attempt_failed');
    expect(tracker.snapshot().failureReason).toBe('version_mismatch');
  });

  it('keeps verifying after an old version reported before 100', () => {
    const tracker = newTracker();
    const before = { messageId: '0'.repeat(24), firmwareVer: '1.0', receivedAt: T0 };
    tracker.applyStatus(before, T0 + 10);
    expect(tracker.applyProgress(progress(100), T0 + 20)).toBe('download_complete');
    expect(tracker.phase).toBe('verifying');
  });

  it('ignores status reports without firmware_ver', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(100), T0 + 10);
    expect(tracker.applyStatus(status(undefined), T0 + 20)).toBe('ignored_no_version');
    expect(tracker.phase).toBe('verifying');
  });

  it('succeeds when the target version arrives before progress 100', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(80), T0 + 10);
    expect(tracker.applyStatus(status('1.1'), T0 + 20)).toBe('succeeded');
  });

  it('succeeds when the target version arrives while backing off', () => {
    const tracker = newTracker();
    tracker.failAttempt('verify_timeout', null, T0 + 10);
    expect(tracker.applyStatus(status('1.1'), T0 + 20)).toBe('succeeded');
  });

  it('accepts a stored status only when written after the attempt started', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(100), T0 + 10);
    expect(tracker.applyStoredStatus('1.1', T0 - 1, T0 + 20)).toBe(false);
    expect(tracker.applyStoredStatus('1.0', T0 + 5, T0 + 20)).toBe(false);
    expect(tracker.applyStoredStatus('1.1', undefined, T0 + 20)).toBe(false);
    expect(tracker.phase).toBe('verifying');
    expect(tracker.applyStoredStatus('1.1', T0 + 5, T0 + 20)).toBe(true);
    expect(tracker.phase).toBe('succeeded');
  });

  it('restarts progress with each attempt and keeps the earlier ones', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(40), T0 + 10);
    tracker.applyProgress(progress(-1), T0 + 20);
    tracker.startAttempt('req-2', T0 + 30);
    tracker.markPublished(T0 + 31);
    expect(tracker.applyProgress(progress(20), T0 + 40)).toBe('progressed');

    const state = tracker.snapshot();
    expect(state.attempt).toBe(2);
    expect(state.progress).toBe(20);
    expect(state.failureReason).toBe('download_error');
    expect(state.attempts.map((attempt) => attempt.requestId)).toEqual(['req-1', 'req-2']);
    expect(state.attempts[0]?.reason).toBe('download_error');
    expect(state.attempts[1]?.reason).toBeNull();
  });

  it('ignores a late error report of the previous attempt by message id', () => {
    const tracker = newTracker();
    const error = progress(-1);
    tracker.applyProgress(error, T0 + 10);
    tracker.startAttempt('req-2', T0 + 20);
    tracker.markPublished(T0 + 21);
    expect(tracker.applyProgress(error, T0 + 30)).toBe('ignored_duplicate');
    expect(tracker.phase).toBe('downloading');
  });

  it('never changes once terminal', () => {
    const tracker = newTracker();
    tracker.applyProgress(progress(100), T0 + 10);
    tracker.applyStatus(status('1.1'), T0 + 20);
    const before = tracker.snapshot();

    expect(tracker.applyProgress(progress(-1), T0 + 30)).toBe('ignored_terminal');
    expect(tracker.applyStatus(status('1.0'), T0 + 40)).toBe('ignored_terminal');
    tracker.failAttempt('stall_timeout', null, T0 + 50);
    tracker.fail(T0 + 60);
    tracker.cancel(T0 + 70);
    expect(tracker.applyStoredStatus('1.1', T0 + 80, T0 + 80)).toBe(false);
    expect(tracker.snapshot()).toEqual(before);
    expect(() => tracker.startAttempt('req-2', T0 + 90)).toThrow(/already succeeded/);
  });

  it('counts at most a bounded number of remembered message ids', () => {
    const tracker = newTracker();
    const first = progress(1);
    tracker.applyProgress(first, T0 + 1);
    for (let value = 2; value <= 80; value += 1) tracker.applyProgress(progress(value), T0 + value);
    // The first id has been forgotten, so only the regression check catches its redelivery.
    expect(tracker.applyProgress(first, T0 + 100)).toBe('ignored_regression');
  });

  it('snapshots are copies', () => {
    const tracker = newTracker();
    const snapshot = tracker.snapshot();
    snapshot.attempts[0]!.reason = 'md5_error';
    snapshot.phase = 'failed';
    expect(tracker.snapshot().attempts[0]?.reason).toBeNull();
    expect(tracker.phase).toBe('downloading');
  });
});

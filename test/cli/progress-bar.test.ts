import { formatProgressSummary, ProgressDisplay, renderBar, renderProgressFrame } from '../../cli/progress-bar';
import type { CampaignView } from '../../workflows/campaign-types';

function view(overrides: Partial<CampaignView> = {}): CampaignView {
  return {
    campaignId: 'c1',
    productName: 'demo',
    targetVersion: '1.1',
    state: 'running',
    round: 1,
    counts: { total: 10, started: 5, succeeded: 3, failed: 1, timedOut: 0, skipped: 1, cancelled: 0 },
    inFlight: 1,
    notStarted: 4,
    percentDone: 50,
    abortReason: null,
    firstWave: null,
    startAt: null,
    startedAt: 0,
    endedAt: null,
    duplicateReports: 0,
    runNumber: 1,
    ...overrides,
  };
}

function recorder(isTTY: boolean, columns = 80) {
  const writes: string[] = [];
  return { stream: { write: (text: string) => writes.push(text), isTTY, columns }, writes };
}

describe('progress bar', () => {
  it('fills cells in proportion', () => {
    expect(renderBar(0, 10)).toBe('[░░░░░░░░░░]');
    expect(renderBar(50, 10)).toBe('[█████░░░░░]');
    expect(renderBar(99, 10)).toBe('[█████████░]');
    expect(renderBar(100, 10)).toBe('[██████████]');
    expect(renderBar(null, 4)).toBe('[░░░░]');
  });

  it('clamps out-of-range values', () => {
    expect(renderBar(150, 4)).toBe('[████]');
    expect(renderBar(-5, 4)).toBe('[░░░░]');
    expect(renderBar(Number.NaN, 4)).toBe('[░░░░]');
    expect(renderBar(50, 0)).toBe('[░]');
  });

  it('summarises each phase of a campaign', () => {
    expect(formatProgressSummary(null)).toBe('waiting for the campaign to report its state');
    expect(formatProgressSummary(view({ percentDone: null }))).toBe('running, preparing the target list');
    expect(formatProgressSummary(view({ state: 'paused', percentDone: 12.34 }))).toBe('paused 12.3% done');
  });

  it('renders a frame within the terminal width', () => {
    const lines = renderProgressFrame('c1', view(), 100);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^c1 \[█+░+\] running 50% done$/);
    expect(lines[1]).toBe('  succeeded 3, failed 1, timed out 0, skipped 1, cancelled 0; in flight 1, not started 4');
    for (const line of renderProgressFrame('c1', view(), 40)) expect(line.length).toBeLessThanOrEqual(39);
    expect(renderProgressFrame('c1', view(), 40)[1]).toMatch(/…$/);
  });

  it('redraws in place on a terminal', () => {
    const { stream, writes } = recorder(true);
    const display = new ProgressDisplay(stream, 'c1');
    display.update(view());
    display.update(view({ percentDone: 60 }));
    expect(writes[0]).not.toContain('\x1b[');
    // The second frame moves up over the two lines of the first and clears them.
    expect(writes[1]!.startsWith('\x1b[2F\x1b[J')).toBe(true);
    expect(writes[1]).toContain('running 60% done');
  });

  it('draws below other output after detach', () => {
    const { stream, writes } = recorder(true);
    const display = new ProgressDisplay(stream, 'c1');
    display.update(view());
    display.detach();
    display.update(view());
    expect(writes[1]).not.toContain('\x1b[');
  });

  it('prints one line per change without a terminal', () => {
    const { stream, writes } = recorder(false);
    const display = new ProgressDisplay(stream, 'c1', () => Date.parse('2026-12-24T08:00:00Z'));
    display.update(null);
    display.update(view());
    display.update(view());
    display.update(view({ percentDone: 70, counts: { ...view().counts, succeeded: 5 } }));
    expect(writes).toEqual([
      '2026-12-24T08:00:00Z c1 waiting for the campaign to report its state\n',
      '2026-12-24T08:00:00Z c1 running 50% done; succeeded 3, failed 1, timed out 0, skipped 1, cancelled 0; in flight 1, not started 4\n',
      '2026-12-24T08:00:00Z c1 running 70% done; succeeded 5, failed 1, timed out 0, skipped 1, cancelled 0; in flight 1, not started 4\n',
    ]);
    expect(writes.join('')).not.toContain('\x1b[');
  });
});

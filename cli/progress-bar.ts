import type { CampaignView } from '../workflows/campaign-types';
import { formatOutcomeCounts, formatPercent } from './format';
import type { OutputStream } from './cli-io';

const FILLED = '\u2588';
const EMPTY = '\u2591';

/** Renders `[████░░░░]` filled to `percent` (0 to 100, clamped) over `width` cells; empty for null. */
export function renderBar(percent: number | null, width: number): string {
  const cells = Math.max(1, Math.floor(width));
  const fraction = percent === null || Number.isNaN(percent) ? 0 : Math.min(1, Math.max(0, percent / 100));
  const filled = Math.floor(fraction * cells);
  return `[${FILLED.repeat(filled)}${EMPTY.repeat(cells - filled)}]`;
}

/** Formats the state and progress of a view as one line, such as `running 52.5% done`. */
export function formatProgressSummary(view: CampaignView | null): string {
  if (view === null) return 'waiting for the campaign to report its state';
  if (view.percentDone === null) return `${view.state}, preparing the target list`;
  return `${view.state} ${formatPercent(view.percentDone)} done`;
}

/** Formats the counts of a view as one line: every outcome, then devices in flight and not started. */
export function formatProgressCounts(view: CampaignView): string {
  return `${formatOutcomeCounts(view.counts)}; in flight ${view.inFlight}, not started ${view.notStarted ?? '-'}`;
}

/** Renders the lines of a terminal frame: the bar with the state and percentage, then the counts. */
export function renderProgressFrame(campaignId: string, view: CampaignView | null, columns: number): string[] {
  const summary = formatProgressSummary(view);
  // The bar takes what the id and summary leave of the line, within 10 to 40 cells.
  const barWidth = Math.min(40, Math.max(10, columns - campaignId.length - summary.length - 6));
  const lines = [`${campaignId} ${renderBar(view?.percentDone ?? null, barWidth)} ${summary}`];
  if (view !== null) lines.push(`  ${formatProgressCounts(view)}`);
  return lines.map((line) => truncate(line, columns - 1));
}

/**
 * Shows the progress of a campaign on a stream. On a terminal, each update redraws the previous frame
 * in place. Elsewhere, such as in a pipe or a CI log, each update that changes the text prints one line.
 */
export class ProgressDisplay {
  private drawnLines = 0;
  private lastLine: string | undefined;

  constructor(
    private readonly stream: OutputStream,
    private readonly campaignId: string,
    private readonly now: () => number = Date.now,
  ) {}

  get redraws(): boolean {
    return this.stream.isTTY === true;
  }

  /** Forgets the frame on screen, so the next update draws below text written in between. */
  detach(): void {
    this.drawnLines = 0;
  }

  update(view: CampaignView | null): void {
    if (this.redraws) {
      const lines = renderProgressFrame(this.campaignId, view, this.stream.columns ?? 80);
      // CSI n F moves to the start of the line n lines up, and CSI J clears from there to the end of the screen.
      const rewind = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F\x1b[J` : '';
      this.stream.write(`${rewind}${lines.join('\n')}\n`);
      this.drawnLines = lines.length;
      return;
    }
    const line = view === null ? formatProgressSummary(view) : `${formatProgressSummary(view)}; ${formatProgressCounts(view)}`;
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.stream.write(`${new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z')} ${this.campaignId} ${line}\n`);
  }
}

function truncate(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}\u2026`;
}

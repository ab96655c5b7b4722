import type { CampaignCounts } from '../workflows/campaign-types';

/** Text for a value that is not known or does not apply. */
export const NONE = '-';

export interface Column {
  header: string;
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right';
}

/** Formats rows as a table with a header and columns two spaces apart; trailing spaces are trimmed. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((column, index) => Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)));
  const formatRow = (cells: readonly string[]) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        return column.align === 'right' ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!);
      })
      .join('  ')
      .trimEnd();
  return [formatRow(columns.map((column) => column.header)), ...rows.map(formatRow)].join('\n');
}

/** Formats a time as ISO 8601 in UTC to the second, such as 2026-12-24T08:00:00Z; NONE for null. */
export function formatTime(time: number | string | null | undefined): string {
  if (time === null || time === undefined) return NONE;
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Formats a duration in milliseconds as 850 ms, 42s, 3m 05s or 2h 07m. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** Formats a percentage with at most one decimal, such as 52.5% or 100%; NONE for null. */
export function formatPercent(percent: number | null | undefined): string {
  if (percent === null || percent === undefined) return NONE;
  const rounded = Math.round(percent * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)}%`;
}

/** Formats a number or NONE for null. */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : String(value);
}

/** Formats labelled values as aligned `label  value` lines, indented by two spaces. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/** Counts per outcome as one line, such as `succeeded 140, failed 40, timed out 10, skipped 10, cancelled 0`. */
export function formatOutcomeCounts(counts: CampaignCounts): string {
  return `succeeded ${counts.succeeded}, failed ${counts.failed}, timed out ${counts.timedOut}, skipped ${counts.skipped}, cancelled ${counts.cancelled}`;
}

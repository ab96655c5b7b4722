import { readFileSync } from 'node:fs';

/** Warnings and errors one process logged during a phase. */
export interface LogIssues {
  warnings: number;
  errors: number;
  /** Other lines that are neither pino JSON nor SDK core warnings, such as a stack trace printed on a crash. */
  otherLines: number;
  /** Up to five distinct messages, each with how often it occurred. */
  messages: Array<{ message: string; count: number }>;
}

const MAX_MESSAGES = 5;

/** Counts the lines at pino level warn (40) and above in a JSON log file. */
export function readLogIssues(logPath: string): LogIssues {
  let text: string;
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return { warnings: 0, errors: 0, otherLines: 0, messages: [] };
  }
  const counts = new Map<string, number>();
  let warnings = 0;
  let errors = 0;
  let otherLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let entry: { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      const sdkLine = parseSdkCoreLine(line);
      if (sdkLine === undefined) {
        otherLines += 1;
        continue;
      }
      entry = sdkLine;
    }
    if (typeof entry.level !== 'number' || entry.level < 40) continue;
    if (entry.level >= 50) errors += 1;
    else warnings += 1;
    // The error's own message separates lines that share a log message, such as 'MQTT client error'.
    const cause = typeof entry.err?.message === 'string' ? `: ${entry.err.message}` : '';
    const message = `${String(entry.msg ?? '(no message)')}${cause}`;
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  const messages = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, MAX_MESSAGES)
    .map(([message, count]) => ({ message, count }));
  return { warnings, errors, otherLines, messages };
}

// The Temporal SDK's Rust core writes its own warnings to stderr as text with colour codes, such as
// "2026-12-04T23:17:37Z  WARN temporalio_sdk_core::worker::workflow::managed_run: [TMPRL1104] <run> Workflow
// task duration exceeded 5 seconds. workflow_type=...".
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g;
const SDK_CORE_LINE = /^\S+\s+(WARN|ERROR)\s+\S+:\s+(.*)$/;

/** Reads an SDK core warning or error as a pino level and a message without ids, or undefined for other text. */
function parseSdkCoreLine(line: string): { level: number; msg: string } | undefined {
  const match = SDK_CORE_LINE.exec(line.replace(ANSI_ESCAPE, ''));
  if (match === null) return undefined;
  const text = match[2] ?? '';
  // A code such as [TMPRL1104] is followed by the run's ids and one sentence. The ids are dropped so that
  // one kind of warning is counted once.
  const coded = /^(\[TMPRL\d+\])\s+\S+\s+([^.]*\.)/.exec(text);
  const msg = coded === null ? text.slice(0, 120) : `${coded[1]} ${coded[2]}`;
  return { level: match[1] === 'ERROR' ? 50 : 40, msg };
}

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// Every start appends a header line, so the log of a data folder that is reused keeps its runs apart.
const START_HEADER_PREFIX = '=== ';
const START_HEADER_MARKER = ' starting: ';

// The tail is read from at most this many bytes at the end of the file, so a log that grew over many
// runs is not read whole. The latest header is the last one in the file, so when it lies before this
// window, every line in the window belongs to the latest run.
const TAIL_WINDOW_BYTES = 256 * 1024;

/** Returns the header line that starts the output of one run of `command` in its log file. */
export function formatStartHeader(command: string, args: readonly string[], startedAt = new Date()): string {
  return `\n${START_HEADER_PREFIX}${startedAt.toISOString()}${START_HEADER_MARKER}${command} ${args.join(' ')}\n`;
}

/**
 * Returns at most `lineCount` of the last lines of the log at `logPath` that the latest run wrote,
 * which are the lines after the latest start header, or the last lines of the file when it has none.
 * Throws what the file system throws when the file cannot be read.
 */
export function readLatestRunTail(logPath: string, lineCount: number): string {
  const text = readEnd(logPath, TAIL_WINDOW_BYTES);
  const lines = text.trimEnd().split('\n');
  let headerIndex = lines.length - 1;
  while (headerIndex >= 0 && !isStartHeader(lines[headerIndex]!)) headerIndex -= 1;
  const latestRun = lines.slice(headerIndex + 1);
  return latestRun.slice(-lineCount).join('\n');
}

function isStartHeader(line: string): boolean {
  return line.startsWith(START_HEADER_PREFIX) && line.includes(START_HEADER_MARKER);
}

// Reads the last `maxBytes` of the file, dropping a first line that the window cut in two.
function readEnd(filePath: string, maxBytes: number): string {
  const fd = openSync(filePath, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    const bytesRead = readSync(fd, buffer, 0, buffer.length, start);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    if (start === 0) return text;
    const firstBreak = text.indexOf('\n');
    return firstBreak === -1 ? '' : text.slice(firstBreak + 1);
  } finally {
    closeSync(fd);
  }
}

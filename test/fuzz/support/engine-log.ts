import pino from 'pino';
import type { Logger } from '../../../observability/logger';

export interface CapturedLog {
  /** Every line logged since the capture started, parsed. */
  readonly lines: readonly Record<string, unknown>[];
  /** Lines whose fields match every given value, such as `{ service: 'bridge' }`. */
  count(match: Record<string, unknown>): number;
  /** Restores the logger's level and stream. */
  stop(): void;
}

/**
 * Captures the lines of an engine's root logger and of every child logger made from it, at `level` and
 * above. startEngine creates its own pino logger, so this replaces the root's destination through
 * `pino.symbols.streamSym`. Pino 10 child loggers created without options, as the engine's services
 * create them, inherit the stream and the level methods of their parent.
 * NOTE: a `logger` option of startEngine would make this unnecessary.
 */
export function captureEngineLog(logger: Logger, level: pino.Level): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const target = logger as unknown as Record<symbol, unknown>;
  const previousStream = target[pino.symbols.streamSym];
  const previousLevel = logger.level;
  target[pino.symbols.streamSym] = {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  logger.level = level;

  return {
    lines,
    count(match) {
      return lines.filter((line) => Object.entries(match).every(([key, value]) => line[key] === value)).length;
    },
    stop() {
      target[pino.symbols.streamSym] = previousStream;
      logger.level = previousLevel;
    },
  };
}

import { once } from 'node:events';
import pino, { type Logger } from 'pino';
import { loadLogSettings } from '../config/settings';
import { loadOrExit } from '../lifecycle/invalid-configuration';

export type { Logger } from 'pino';

/** A pino level that LOG_LEVEL accepts. */
export type LogLevel = ReturnType<typeof loadLogSettings>['level'];

/** Fields that could hold secrets, replaced in every line that any logger of the engine writes. */
export const SECRET_REDACTION = {
  paths: ['password', '*.password', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization'],
  censor: '[redacted]',
};

/**
 * Creates the JSON logger of one process, writing to stdout. Every line carries `service`; callers add
 * ids with `logger.child({ productName, deviceName, workflowId })`.
 *
 * Without `level` it reads LOG_LEVEL, and an invalid value ends the process with a one-line message
 * and exit status 2. Each main module creates its logger at load time, where no caller could catch
 * the error, so the check cannot be left to the caller.
 */
export function createLogger(service: string, level?: LogLevel): Logger {
  return pino({
    level: level ?? loadOrExit(() => loadLogSettings().level),
    base: { service },
    redact: SECRET_REDACTION,
  });
}

export interface FileLogger {
  readonly logger: Logger;
  /** Writes what is buffered, closes the file and resolves once it is closed. Lines logged later are dropped. */
  close(): Promise<void>;
}

/**
 * Opens `filePath` for appending, creating its folder, and resolves with a logger writing to it once
 * the file is open. The writes are asynchronous, so `close()` must run before the process exits.
 * Waiting for the open matters: pino flushes the file synchronously when the process exits, and that
 * flush throws 'sonic boom is not ready yet' on a file that is still opening.
 */
export async function openFileLogger(filePath: string, level: LogLevel): Promise<FileLogger> {
  const destination = pino.destination({ dest: filePath, sync: false, mkdir: true });
  await once(destination, 'ready');
  let closed: Promise<void> | undefined;
  // A part that did not stop in time may still log after close(), and a write to a closed destination
  // throws 'SonicBoom destroyed' and would crash the process, so such lines are dropped.
  const stream = {
    write(line: string): void {
      if (closed === undefined) destination.write(line);
    },
  };
  const logger = pino({ level, redact: SECRET_REDACTION }, stream);

  return {
    logger,
    close() {
      closed ??= (async () => {
        const finished = once(destination, 'close');
        destination.end();
        await finished;
      })();
      return closed;
    },
  };
}

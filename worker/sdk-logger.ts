import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import type { Logger } from '../observability/logger';

const PINO_LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes the Temporal SDK's logs, including `log` calls in workflows and activities, into pino, so the
 * worker writes one stream of JSON lines. The SDK adds workflowId, runId and activity ids as metadata.
 */
export class PinoSdkLogger implements SdkLogger {
  constructor(private readonly logger: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.logger[PINO_LEVELS[level]](withErrorSerialized(meta), message);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }

  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }

  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }

  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }

  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/**
 * Moves the SDK's `error` field to `err`, the field pino's error serializer writes with type, message
 * and stack. Under `error` an Error became `{}` in the JSON line, because its fields are not enumerable.
 */
function withErrorSerialized(meta: LogMetadata | undefined): LogMetadata {
  if (meta === undefined) return {};
  if (meta.error === undefined || meta.err !== undefined) return meta;
  const { error, ...rest } = meta;
  return { ...rest, err: error };
}

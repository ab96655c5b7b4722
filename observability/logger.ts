import pino, { type Logger } from 'pino';
import { loadLogSettings } from '../config/settings';

export type { Logger } from 'pino';

/**
 * Creates the JSON logger of one process. Every line carries `service`; callers add ids with
 * `logger.child({ productName, deviceName, workflowId })`. Fields that could hold secrets are redacted.
 */
export function createLogger(service: string, level = loadLogSettings().level): Logger {
  return pino({
    level,
    base: { service },
    redact: {
      paths: ['password', '*.password', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}

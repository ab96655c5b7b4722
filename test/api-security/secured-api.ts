import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startApiService, type ApiService } from '../../api/api-service';
import { createApiToken, type ApiToken } from '../../api/auth/api-token';
import { DEFAULT_RATE_LIMIT, type ApiSecuritySettings } from '../../api/auth/security-settings';
import type { MongoSettings, TemporalSettings } from '../../config/settings';
import { SECRET_REDACTION, type Logger } from '../../observability/logger';
import { TEST_UPGRADE_DEFAULTS } from '../support/engine-harness';
import { requiredEnv } from '../support/worker-harness';

/** Returns a fresh random token of 64 hexadecimal digits, as `openssl rand -hex 32` prints. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** Creates one read token and one operator token, and returns them with their secrets for sending. */
export function testTokens(): { read: string; operator: string; tokens: ApiToken[] } {
  const read = newToken();
  const operator = newToken();
  return {
    read,
    operator,
    tokens: [createApiToken({ name: 'dashboard', role: 'read', token: read }, 'test entry 1'), createApiToken({ name: 'release-bot', role: 'operator', token: operator }, 'test entry 2')],
  };
}

/** Returns security settings with `tokens` and every other setting at its default, changed by `overrides`. */
export function tokenSecurity(tokens: readonly ApiToken[], overrides: Partial<ApiSecuritySettings> = {}): ApiSecuritySettings {
  return { auth: { mode: 'tokens', tokens }, healthAccess: 'open', metricsAccess: 'open', rateLimit: DEFAULT_RATE_LIMIT, ...overrides };
}

/** Creates a pino logger with the engine's redaction that keeps every line it writes, for checks on log output. */
export function capturingLogger(): { logger: Logger; text(): string; lines(): Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = pino({ level: 'info', redact: SECRET_REDACTION }, stream);
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Returns Temporal settings for the test run's dev server, with a task queue of their own. */
export function testTemporalSettings(taskQueue = `api-security-${randomUUID().slice(0, 8)}`): TemporalSettings {
  return {
    address: requiredEnv('TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue,
    tls: false,
    tlsCertPath: undefined,
    tlsKeyPath: undefined,
    tlsCaPath: undefined,
    tlsServerName: undefined,
    apiKey: undefined,
  };
}

/** Starts the API on a free loopback port against the test run's Temporal and FerretDB. */
export async function startSecuredApi(options: {
  security: ApiSecuritySettings;
  logger?: Logger;
  temporal?: TemporalSettings;
  mongo?: MongoSettings;
}): Promise<ApiService> {
  return startApiService({
    http: { host: '127.0.0.1', port: 0 },
    temporal: options.temporal ?? testTemporalSettings(),
    mongo: options.mongo ?? { url: requiredEnv('MONGO_URL'), database: `ota_api_security_${randomUUID().slice(0, 8)}` },
    defaults: TEST_UPGRADE_DEFAULTS,
    logger: options.logger ?? pino({ level: process.env.OTA_TEST_LOG_LEVEL ?? 'error' }),
    security: options.security,
  });
}

/** Sends a request with an optional Authorization header value and returns status, headers and body text. */
export async function send(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: { authorization?: string; token?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const headers: Record<string, string> = {};
  const authorization = options.token !== undefined ? `Bearer ${options.token}` : options.authorization;
  if (authorization !== undefined) headers.authorization = authorization;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

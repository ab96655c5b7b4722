import { ConfigError } from '../../config/env';
import type { ApiToken } from './api-token';

/** Access to an endpoint: anyone (`open`), or only requests with a valid token of either role (`token`). */
export type EndpointAccess = 'open' | 'token';

/** Requests per second and burst of one principal's token bucket; `perSecond` 0 turns rate limiting off. */
export interface RateLimitSettings {
  perSecond: number;
  burst: number;
}

/** Access rules of the HTTP API: accepted tokens, access to the probe endpoints, and the rate limit. */
export interface ApiSecuritySettings {
  /** Bearer tokens the API accepts, or `disabled`, which lets every request through unauthenticated. */
  auth: { mode: 'tokens'; tokens: readonly ApiToken[] } | { mode: 'disabled' };
  /** Access to `GET /health` and `GET /ready`. */
  healthAccess: EndpointAccess;
  /** Access to `GET /metrics`. */
  metricsAccess: EndpointAccess;
  rateLimit: RateLimitSettings;
}

export const DEFAULT_RATE_LIMIT: RateLimitSettings = { perSecond: 50, burst: 100 };

/**
 * Settings of an API started without security settings: no authentication and no rate limiting. Only
 * code that embeds the API gets them, such as tests and the start command. `api/main.ts` always passes
 * the settings it loads from the environment, which reject a start without tokens.
 */
export const UNPROTECTED_API_SETTINGS: ApiSecuritySettings = {
  auth: { mode: 'disabled' },
  healthAccess: 'open',
  metricsAccess: 'open',
  rateLimit: { perSecond: 0, burst: DEFAULT_RATE_LIMIT.burst },
};

/**
 * Throws ConfigError when the settings cannot protect the API as configured: tokens required but none
 * given, endpoints that require a token while authentication is disabled, two tokens with the same name
 * or the same secret, or an invalid rate limit. The messages name the environment variables to change.
 */
export function validateApiSecuritySettings(settings: ApiSecuritySettings): void {
  const { auth, rateLimit } = settings;
  if (!(rateLimit.perSecond >= 0) || !Number.isFinite(rateLimit.perSecond)) {
    throw new ConfigError(`invalid configuration: API_RATE_LIMIT_PER_SECOND must be 0 (off) or a positive number (got ${rateLimit.perSecond})`);
  }
  if (!Number.isInteger(rateLimit.burst) || rateLimit.burst < 1) {
    throw new ConfigError(`invalid configuration: API_RATE_LIMIT_BURST must be a whole number of at least 1 (got ${rateLimit.burst})`);
  }
  if (auth.mode === 'disabled') {
    for (const [setting, access] of [['API_AUTH_HEALTH', settings.healthAccess], ['API_AUTH_METRICS', settings.metricsAccess]] as const) {
      if (access === 'token') {
        throw new ConfigError(`invalid configuration: ${setting} is 'token' but API_AUTH is 'disabled': configure API_TOKENS or API_TOKENS_FILE, or set ${setting}=open`);
      }
    }
    return;
  }

  if (auth.tokens.length === 0) {
    throw new ConfigError(
      'invalid configuration: the API has no tokens: set API_TOKENS (name:role:token,...) or API_TOKENS_FILE, ' +
        'or set API_AUTH=disabled to run the API without authentication on purpose',
    );
  }
  const byName = new Map<string, ApiToken>();
  const byDigest = new Map<string, ApiToken>();
  for (const token of auth.tokens) {
    const sameName = byName.get(token.name);
    if (sameName) {
      throw new ConfigError(`invalid configuration: ${sameName.source} and ${token.source} have the same name '${token.name}': give each token its own name`);
    }
    const digest = token.digest.toString('hex');
    const sameSecret = byDigest.get(digest);
    if (sameSecret) {
      throw new ConfigError(
        `invalid configuration: ${sameSecret.source} ('${sameSecret.name}') and ${token.source} ('${token.name}') have the same token: ` +
          'give each name its own token, so that logs name the right principal',
      );
    }
    byName.set(token.name, token);
    byDigest.set(digest, token);
  }
}

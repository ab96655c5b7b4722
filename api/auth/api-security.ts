import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readBearerCredentials } from './bearer-header';
import { DenialLog } from './denial-log';
import { replyForbidden, replyRateLimited, replyUnauthorized, type CredentialProblem } from './denial-replies';
import { RateLimiter } from './rate-limiter';
import { roleGrants } from './roles';
import { routeAccess } from './route-access';
import { validateApiSecuritySettings, type ApiSecuritySettings } from './security-settings';
import { TokenRegistry } from './token-registry';

/** Reason a request was denied, logged in the `reason` field. */
type DenialReason = 'missing_token' | 'malformed_authorization' | 'invalid_token' | 'insufficient_role' | 'rate_limited';

const CREDENTIAL_DENIALS: Record<CredentialProblem, DenialReason> = {
  missing: 'missing_token',
  malformed: 'malformed_authorization',
  invalid: 'invalid_token',
};

export interface ApiSecurityOptions {
  /** Monotonic clock in milliseconds for the rate limiter and the denial log; tests pass a fake one. */
  now?: () => number;
}

/**
 * Adds an onRequest hook that authenticates each request by its bearer token and checks the role its
 * route requires. The hook applies the rate limit of the principal, or of the client address when
 * authentication is disabled or fails, and adds `principal` (the token's name) to the request's log
 * lines. It runs before the body is read, so a rejected request costs no parsing. Throws ConfigError
 * for inconsistent settings.
 */
export function installApiSecurity(app: FastifyInstance, settings: ApiSecuritySettings, options: ApiSecurityOptions = {}): void {
  validateApiSecuritySettings(settings);
  const now = options.now ?? (() => performance.now());
  const registry = settings.auth.mode === 'tokens' ? new TokenRegistry(settings.auth.tokens) : undefined;
  const limiter = settings.rateLimit.perSecond > 0 ? new RateLimiter(settings.rateLimit, now) : undefined;
  const denials = new DenialLog(now);

  /** Logs a denied request, throttled per client and reason; denials go to the request counters of /metrics in any case. */
  const logDenial = (request: FastifyRequest, reason: DenialReason, client: string): void => {
    const suppressed = denials.record(`${reason} ${client}`);
    if (suppressed === undefined) return;
    const route = request.routeOptions.url ?? 'unmatched';
    request.log.warn({ reason, client, remoteAddress: request.ip, method: request.method, route, suppressed }, `request denied: ${reason}`);
  };

  /** Counts the request against `client`'s bucket; sends 429 and returns true when the bucket is empty. */
  const rejectOverLimit = (request: FastifyRequest, reply: FastifyReply, client: string): boolean => {
    if (limiter === undefined) return false;
    const decision = limiter.take(client);
    if (decision.allowed) return false;
    logDenial(request, 'rate_limited', client);
    replyRateLimited(reply, client, settings.rateLimit, decision.retryAfterSeconds);
    return true;
  };

  app.addHook('onRequest', async (request, reply) => {
    const access = routeAccess(request.method, request.routeOptions.url, settings);
    if (access.kind === 'probe' && !access.tokenRequired) return;
    const address = `address ${request.ip}`;
    if (registry === undefined) {
      // validateApiSecuritySettings rejects probes that require a token while authentication is disabled.
      if (rejectOverLimit(request, reply, address)) return reply;
      return;
    }

    const credentials = readBearerCredentials(request.headers.authorization);
    const principal = credentials.kind === 'token' ? registry.authenticate(credentials.token) : undefined;
    if (principal === undefined) {
      const problem: CredentialProblem = credentials.kind === 'token' ? 'invalid' : credentials.kind;
      // Failed attempts count against the client's address, so that guessing tokens is rate limited too.
      if (access.kind === 'api' && rejectOverLimit(request, reply, address)) return reply;
      logDenial(request, CREDENTIAL_DENIALS[problem], address);
      return replyUnauthorized(reply, problem);
    }

    // Fastify logs the request's completion through reply.log, so both get the principal.
    request.log = request.log.child({ principal: principal.name });
    reply.log = request.log;
    if (access.kind === 'probe') return;

    const client = `token '${principal.name}'`;
    if (rejectOverLimit(request, reply, client)) return reply;
    if (!roleGrants(principal.role, access.role)) {
      logDenial(request, 'insufficient_role', client);
      return replyForbidden(reply, principal, access.role, `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`);
    }
  });
}

import type { FastifyReply } from 'fastify';
import type { ApiRole } from './roles';

/** Problem with a request's credentials. */
export type CredentialProblem = 'missing' | 'malformed' | 'invalid';

const REALM = 'realm="ota-api"';

// The error codes of RFC 6750, section 3.1; a request without credentials gets none.
const CHALLENGES: Record<CredentialProblem, string> = {
  missing: `Bearer ${REALM}`,
  malformed: `Bearer ${REALM}, error="invalid_request"`,
  invalid: `Bearer ${REALM}, error="invalid_token"`,
};

// None of these messages contains what the client sent, so a token never comes back in a response.
const MESSAGES: Record<CredentialProblem, string> = {
  missing: "this request requires a bearer token: send the header 'Authorization: Bearer <token>'",
  malformed: "the Authorization header is not 'Bearer <token>' with a token of letters, digits and -._~+/ characters",
  invalid: 'the bearer token is not valid: ask the operator of the API for a valid token',
};

/** Sends 401 with a `WWW-Authenticate: Bearer` challenge. */
export function replyUnauthorized(reply: FastifyReply, problem: CredentialProblem): FastifyReply {
  return reply.code(401).header('www-authenticate', CHALLENGES[problem]).send({ error: 'unauthorized', message: MESSAGES[problem] });
}

/** Sends 403 naming the role the route requires and the role the token has. */
export function replyForbidden(reply: FastifyReply, principal: { name: string; role: ApiRole }, requiredRole: ApiRole, requestLine: string): FastifyReply {
  return reply
    .code(403)
    .header('www-authenticate', `Bearer ${REALM}, error="insufficient_scope", scope="${requiredRole}"`)
    .send({
      error: 'forbidden',
      message: `${requestLine} requires role ${requiredRole}, but token '${principal.name}' has role ${principal.role}`,
    });
}

/** Sends 429 with Retry-After in seconds. `client` names the principal or address whose limit was exceeded. */
export function replyRateLimited(reply: FastifyReply, client: string, limit: { perSecond: number; burst: number }, retryAfterSeconds: number): FastifyReply {
  return reply
    .code(429)
    .header('retry-after', String(retryAfterSeconds))
    .send({
      error: 'too many requests',
      message: `${client} exceeded the rate limit of ${limit.perSecond} requests per second (burst ${limit.burst}): retry after ${retryAfterSeconds} s`,
    });
}

import { BEARER_TOKEN_PATTERN } from './api-token';

/** Credentials in the Authorization header of a request. */
export type BearerCredentials =
  | { kind: 'missing' }
  /** A header that is not `Bearer <token>`, such as Basic credentials or a token with spaces. */
  | { kind: 'malformed' }
  | { kind: 'token'; token: string };

// RFC 7235 makes the scheme name case-insensitive, and RFC 6750 puts one or more spaces before the token.
const BEARER_PREFIX = /^bearer +/i;

/** Reads the bearer token of an Authorization header value. */
export function readBearerCredentials(header: string | undefined): BearerCredentials {
  if (header === undefined || header.trim() === '') return { kind: 'missing' };
  const prefix = BEARER_PREFIX.exec(header);
  if (prefix === null) return { kind: 'malformed' };
  const token = header.slice(prefix[0].length).trimEnd();
  return BEARER_TOKEN_PATTERN.test(token) ? { kind: 'token', token } : { kind: 'malformed' };
}

import { createHash } from 'node:crypto';
import { API_ROLES, isApiRole, type ApiRole } from './roles';

/** Shortest token accepted: 32 characters of `openssl rand -hex 32` or `-base64 32` carry 128 bits or more. */
export const MIN_TOKEN_LENGTH = 32;

/** Maximum token length, well below Node's 16 KiB limit of all request headers together. */
export const MAX_TOKEN_LENGTH = 1024;

/** The b64token syntax of RFC 6750, section 2.1: the characters a client can send after `Bearer `. */
export const BEARER_TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Token names appear in logs and in 403 messages, so they are short and need no quoting. */
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A token the API accepts. Only the SHA-256 digest of the secret is kept, so these objects can be
 * passed around and inspected without the secret ever reaching a log line.
 */
export interface ApiToken {
  /** Name of the client or person the token was issued to, logged as `principal` with each request. */
  readonly name: string;
  readonly role: ApiRole;
  /** SHA-256 digest of the token. */
  readonly digest: Buffer;
  /** Configuration entry of the token, such as `API_TOKENS entry 2`, for error messages. */
  readonly source: string;
}

/** Returns the SHA-256 digest of a token; equal-length digests let the comparison take constant time. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The fields of one configured token, before validation. */
export interface TokenFields {
  name: unknown;
  role: unknown;
  token: unknown;
}

/**
 * Validates one configured token and returns it with its digest. Throws an Error whose message names the
 * problem but never contains the token, because the caller puts the message into a ConfigError.
 */
export function createApiToken(fields: TokenFields, source: string): ApiToken {
  const { name, role, token } = fields;
  if (typeof name !== 'string' || !TOKEN_NAME_PATTERN.test(name)) {
    throw new Error(`the name must be 1 to 64 letters, digits, '_', '.' or '-'`);
  }
  if (!isApiRole(role)) {
    // A long value may be a token written in the wrong field, so only short values are shown.
    let describedRole = `of type ${typeof role}`;
    if (typeof role === 'string') describedRole = role.length <= 16 ? `'${role}'` : `of ${role.length} characters`;
    throw new Error(`token '${name}' has an unknown role ${describedRole}: expected ${API_ROLES.join(' or ')}`);
  }
  if (typeof token !== 'string') throw new Error(`token '${name}' has no token string`);
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `token '${name}' has ${token.length} characters, but at least ${MIN_TOKEN_LENGTH} are required: ` +
        `generate one with 'openssl rand -hex 32'`,
    );
  }
  if (token.length > MAX_TOKEN_LENGTH) throw new Error(`token '${name}' has ${token.length} characters, at most ${MAX_TOKEN_LENGTH} are allowed`);
  if (!BEARER_TOKEN_PATTERN.test(token)) {
    throw new Error(`token '${name}' contains characters that an 'Authorization: Bearer' header cannot carry: use letters, digits and -._~+/ (then '=' padding only)`);
  }
  return { name, role, digest: tokenDigest(token), source };
}

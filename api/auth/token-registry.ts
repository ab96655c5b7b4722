import { timingSafeEqual } from 'node:crypto';
import { tokenDigest, type ApiToken } from './api-token';
import type { ApiRole } from './roles';

/** The client a valid token identifies: the token's name and role, never the token itself. */
export interface ApiPrincipal {
  readonly name: string;
  readonly role: ApiRole;
}

/** The configured tokens, looked up in constant time. */
export class TokenRegistry {
  constructor(private readonly tokens: readonly ApiToken[]) {}

  /**
   * Returns the principal of a presented token, or undefined when no configured token matches. The
   * presented token is hashed first, so every comparison is between two 32-byte digests and takes the
   * same time whatever its length and content. Every configured token is compared, even after a match,
   * so the time taken does not tell which one matched either.
   */
  authenticate(presented: string): ApiPrincipal | undefined {
    const digest = tokenDigest(presented);
    let match: ApiToken | undefined;
    for (const token of this.tokens) {
      const equal = timingSafeEqual(digest, token.digest);
      if (equal && match === undefined) match = token;
    }
    return match === undefined ? undefined : { name: match.name, role: match.role };
  }
}

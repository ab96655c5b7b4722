/**
 * Roles an API token can have. `read` may call the GET routes, and `operator` may call every route. So
 * starting, pausing or cancelling upgrades needs a token that was issued for that purpose.
 */
export const API_ROLES = ['read', 'operator'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** Returns whether a token of role `tokenRole` may call a route that requires role `requiredRole`. */
export function roleGrants(tokenRole: ApiRole, requiredRole: ApiRole): boolean {
  return tokenRole === 'operator' || requiredRole === 'read';
}

/** Returns whether `value` names a role. */
export function isApiRole(value: unknown): value is ApiRole {
  return typeof value === 'string' && (API_ROLES as readonly string[]).includes(value);
}

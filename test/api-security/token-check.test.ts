import { createApiToken } from '../../api/auth/api-token';
import { readBearerCredentials } from '../../api/auth/bearer-header';
import { roleGrants } from '../../api/auth/roles';
import { routeAccess } from '../../api/auth/route-access';
import { TokenRegistry } from '../../api/auth/token-registry';
import { newToken, testTokens, tokenSecurity } from './secured-api';

// Reading the Authorization header, matching tokens, and the access each route requires.

describe('readBearerCredentials', () => {
  const token = newToken();

  it.each([
    [`Bearer ${token}`, { kind: 'token', token }],
    [`bearer  ${token} `, { kind: 'token', token }],
    [`BEARER ${token}`, { kind: 'token', token }],
    [undefined, { kind: 'missing' }],
    ['', { kind: 'missing' }],
    [`Basic ${Buffer.from(`user:${token}`).toString('base64')}`, { kind: 'malformed' }],
    [token, { kind: 'malformed' }],
    ['Bearer', { kind: 'malformed' }],
    [`Bearer ${token} extra`, { kind: 'malformed' }],
    [`Bearer "${token}"`, { kind: 'malformed' }],
  ])('reads %p', (header, expected) => {
    expect(readBearerCredentials(header)).toEqual(expected);
  });
});

describe('TokenRegistry', () => {
  const { read, operator, tokens } = testTokens();
  const registry = new TokenRegistry(tokens);

  it('returns the name and role of a valid token', () => {
    expect(registry.authenticate(read)).toEqual({ name: 'dashboard', role: 'read' });
    expect(registry.authenticate(operator)).toEqual({ name: 'release-bot', role: 'operator' });
  });

  it('rejects a token that differs in its last character', () => {
    const last = operator.at(-1) === '0' ? '1' : '0';
    expect(registry.authenticate(`${operator.slice(0, -1)}${last}`)).toBeUndefined();
  });

  it('rejects a prefix and an extension of a token', () => {
    expect(registry.authenticate(operator.slice(0, -1))).toBeUndefined();
    expect(registry.authenticate(`${operator}0`)).toBeUndefined();
    expect(registry.authenticate('')).toBeUndefined();
  });

  it('finds a token among many', () => {
    const many = Array.from({ length: 50 }, (_, index) => createApiToken({ name: `client-${index}`, role: 'read', token: newToken() }, `entry ${index}`));
    const secret = newToken();
    const registryOfMany = new TokenRegistry([...many, createApiToken({ name: 'last', role: 'operator', token: secret }, 'entry 51')]);
    expect(registryOfMany.authenticate(secret)).toEqual({ name: 'last', role: 'operator' });
  });
});

describe('roleGrants', () => {
  it('lets operator do everything and read only read', () => {
    expect(roleGrants('operator', 'operator')).toBe(true);
    expect(roleGrants('operator', 'read')).toBe(true);
    expect(roleGrants('read', 'read')).toBe(true);
    expect(roleGrants('read', 'operator')).toBe(false);
  });
});

describe('routeAccess', () => {
  const open = tokenSecurity([]);
  const protectedProbes = tokenSecurity([], { healthAccess: 'token', metricsAccess: 'token' });

  it.each([
    ['GET', '/ota/:productName/:deviceName', { kind: 'api', role: 'read' }],
    ['HEAD', '/campaigns', { kind: 'api', role: 'read' }],
    ['POST', '/ota/:productName/:deviceName', { kind: 'api', role: 'operator' }],
    ['POST', '/campaigns/:id/pause', { kind: 'api', role: 'operator' }],
    ['DELETE', '/campaigns/:id', { kind: 'api', role: 'operator' }],
    ['GET', undefined, { kind: 'api', role: 'read' }],
    ['POST', undefined, { kind: 'api', role: 'operator' }],
    ['POST', '/health', { kind: 'api', role: 'operator' }],
    ['GET', '/health', { kind: 'probe', tokenRequired: false }],
    ['GET', '/ready', { kind: 'probe', tokenRequired: false }],
    ['GET', '/metrics', { kind: 'probe', tokenRequired: false }],
  ] as const)('%s %s needs %p by default', (method, route, expected) => {
    expect(routeAccess(method, route, open)).toEqual(expected);
  });

  it('requires a token for probes when configured', () => {
    expect(routeAccess('GET', '/health', protectedProbes)).toEqual({ kind: 'probe', tokenRequired: true });
    expect(routeAccess('GET', '/ready', protectedProbes)).toEqual({ kind: 'probe', tokenRequired: true });
    expect(routeAccess('GET', '/metrics', protectedProbes)).toEqual({ kind: 'probe', tokenRequired: true });
  });
});

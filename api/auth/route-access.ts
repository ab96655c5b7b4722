import { HEALTH_ROUTE_PATHS } from '../routes/health';
import type { ApiRole } from './roles';
import type { ApiSecuritySettings } from './security-settings';

/** Requirement a request must meet before its route runs. */
export type RouteAccess =
  /** Health, readiness and metrics: never rate limited, so probes and scrapers always get through. */
  | { kind: 'probe'; tokenRequired: boolean }
  /** Every other route, and requests that match no route: a token with the role, and the rate limit. */
  | { kind: 'api'; role: ApiRole };

// instrumentHttpRequests serves the process's metrics at this path.
const METRICS_ROUTE_PATH = '/metrics';

/**
 * Decides what a request needs from its method and its route pattern (undefined when no route matched).
 * GET and HEAD only read, so they need role `read`; every other method needs `operator`. A route added
 * later is therefore protected without being listed here. A request that matches no route needs `read`,
 * so that a client without a token cannot tell which paths exist.
 */
export function routeAccess(method: string, routePath: string | undefined, settings: ApiSecuritySettings): RouteAccess {
  const reads = method === 'GET' || method === 'HEAD';
  if (reads && routePath !== undefined && (HEALTH_ROUTE_PATHS as readonly string[]).includes(routePath)) {
    return { kind: 'probe', tokenRequired: settings.healthAccess === 'token' };
  }
  if (reads && routePath === METRICS_ROUTE_PATH) return { kind: 'probe', tokenRequired: settings.metricsAccess === 'token' };
  return { kind: 'api', role: reads ? 'read' : 'operator' };
}

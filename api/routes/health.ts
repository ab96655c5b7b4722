import type { FastifyInstance } from 'fastify';

/** A dependency check for readiness: resolves when the dependency answers, rejects otherwise. */
export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2_000;

/** Paths of the liveness and readiness routes, which API_AUTH_HEALTH opens or protects together. */
export const HEALTH_ROUTE_PATHS = ['/health', '/ready'] as const;
const [HEALTH_PATH, READY_PATH] = HEALTH_ROUTE_PATHS;

/**
 * `GET /health`: 200 while the process serves requests (liveness). `GET /ready`: 200 when Temporal and
 * MongoDB answer within two seconds, else 503 naming each that did not (readiness, for load balancers).
 */
export function registerHealthRoutes(app: FastifyInstance, checks: Record<string, ReadinessCheck> = {}): void {
  app.get(HEALTH_PATH, async () => ({ status: 'ok' }));

  app.get(READY_PATH, async (request, reply) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
          return [name, 'ok'] as const;
        } catch (error) {
          request.log.warn({ err: error, dependency: name }, 'readiness check failed');
          return [name, (error as Error).message.slice(0, 200)] as const;
        }
      }),
    );
    const failed = results.filter(([, result]) => result !== 'ok');
    return reply.code(failed.length === 0 ? 200 : 503).send({ status: failed.length === 0 ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  });
}

function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

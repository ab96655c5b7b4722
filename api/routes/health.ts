import type { FastifyInstance } from 'fastify';

/** `GET /health`: 200 while the process serves requests; used by the start command and load balancers. */
export function registerHealthRoutes(app: FastifyInstance): void {
  app.get('/health', async () => ({ status: 'ok' }));
}

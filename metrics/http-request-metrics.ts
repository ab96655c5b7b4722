import type { FastifyInstance } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { ProcessMetrics } from './process-metrics';

/** Route label of requests that matched no route, so that raw URLs never become label values. */
export const UNMATCHED_ROUTE = 'unmatched';

// API requests wait for Temporal or MongoDB for at most 10 seconds before they get 503.
const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

/**
 * Counts every request of a Fastify app by method, route pattern (such as `/ota/:productName/:deviceName`)
 * and status code, records its duration, and serves the process's metrics at `GET /metrics`. Labelling by
 * the pattern keeps one series per route however many devices the requests name.
 */
export function instrumentHttpRequests(app: FastifyInstance, metrics: ProcessMetrics): void {
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: 'ota_api_http_requests_total',
    help: 'HTTP responses the API sent, by method, route pattern and status code',
    labelNames,
    registers: [metrics.registry],
  });
  const duration = new Histogram({
    name: 'ota_api_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to sending its response, by method, route pattern and status code',
    labelNames,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [metrics.registry],
  });

  // onResponse runs after the response was sent, for every route and for the not-found and error handlers.
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status_code: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  // Scrapes come every few seconds, so their request lines are left out of the log below warnings.
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsServerSettings } from '../config/settings';
import type { Logger } from '../observability/logger';
import type { ProcessMetrics } from './process-metrics';

export interface MetricsServer {
  /** URL of the metrics endpoint, such as http://127.0.0.1:9464/metrics. */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` over plain HTTP for a process without an HTTP server of its own (the worker and
 * the bridge). `portSetting` names the setting that moves the port, for the error when it is taken.
 */
export async function startMetricsServer(
  metrics: ProcessMetrics,
  options: MetricsServerSettings & { portSetting: string; logger: Logger },
): Promise<MetricsServer> {
  const { logger } = options;
  const server = createServer((request, response) => {
    void respond(metrics, request, response, logger);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      reject(new Error(`could not serve metrics on ${options.host}:${options.port}: ${error.message}; set ${options.portSetting} to a free port, or unset it to serve no metrics`));
    };
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'metrics server error'));

  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper keeps its connection open between scrapes, which would hold close() up.
        server.closeAllConnections();
      }),
  };
}

async function respond(metrics: ProcessMetrics, request: IncomingMessage, response: ServerResponse, logger: Logger): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/metrics') {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: this server serves only GET /metrics\n`);
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end(`method ${request.method} not allowed: use GET /metrics\n`);
    return;
  }
  try {
    const text = await metrics.render();
    response.writeHead(200, { 'content-type': metrics.contentType });
    response.end(request.method === 'HEAD' ? undefined : text);
  } catch (error) {
    logger.error({ err: error }, 'failed to render metrics');
    response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('failed to render metrics; see the process log\n');
  }
}

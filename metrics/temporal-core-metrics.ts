import net from 'node:net';
import type { MetricsExporterConfig } from '@temporalio/worker';
import type { ExternalMetricsSource } from './process-metrics';

// Only this process reads the core's exporter, so it listens on loopback whatever METRICS_HOST is set to.
const CORE_EXPORTER_HOST = '127.0.0.1';
// A scrape waits for the core's text at most this long before serving the other metrics without it.
const READ_TIMEOUT_MS = 2_000;

/**
 * Metrics options for `Runtime.install({ telemetryOptions: { metrics } })` that make the Temporal SDK
 * core serve its Prometheus metrics (names prefixed `temporal_`) on the loopback port `port`.
 */
export function temporalCoreMetricsOptions(port: number): MetricsExporterConfig {
  return { prometheus: { bindAddress: `${CORE_EXPORTER_HOST}:${port}` } };
}

/** URL of the core exporter that `temporalCoreMetricsOptions(port)` configures. */
export function temporalCoreMetricsUrl(port: number): string {
  return `http://${CORE_EXPORTER_HOST}:${port}/metrics`;
}

/**
 * Finds a free loopback port for the core exporter. The core needs a fixed port, and it reports no port
 * the operating system picked, so one is picked here. NOTE: another process may take the port between
 * this check and the core binding it; the worker then fails to start with the core's error.
 */
export async function findFreeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: CORE_EXPORTER_HOST, port: 0, exclusive: true }, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error(`listening on ${CORE_EXPORTER_HOST}:0 returned no TCP address`);
  return address.port;
}

/** Reads the core exporter's text at each scrape, for ProcessMetrics to append to its own. */
export function temporalCoreMetricsSource(url: string): ExternalMetricsSource {
  return {
    name: 'temporal_core',
    async read() {
      const response = await fetch(url, { signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`reading the Temporal SDK core's metrics at ${url} failed with HTTP status ${response.status}`);
      return response.text();
    },
  };
}

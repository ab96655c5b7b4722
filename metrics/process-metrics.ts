import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { LogThrottle } from '../bridge/log-throttle';
import type { Logger } from '../observability/logger';

/** Metrics text from an exporter outside prom-client, such as the Temporal SDK core's Prometheus exporter. */
export interface ExternalMetricsSource {
  /** Short name, used as the `source` label of `ota_metrics_source_up` and in logs. */
  readonly name: string;
  /** Returns the source's metrics in the Prometheus text format; rejects when the source cannot be read. */
  read(): Promise<string>;
}

/**
 * The metrics of one process: one prom-client registry, with Node's default process metrics, plus the
 * text of external sources that `/metrics` appends. The worker, the bridge and the API each register
 * their metrics in it, so one process that runs all three serves them from one endpoint.
 */
export class ProcessMetrics {
  readonly registry = new Registry();
  private readonly sources = new Set<ExternalMetricsSource>();
  private readonly sourceUp: Gauge<'source'>;
  private readonly throttle = new LogThrottle(1);

  constructor(private readonly logger?: Logger) {
    collectDefaultMetrics({ register: this.registry });
    this.sourceUp = new Gauge({
      name: 'ota_metrics_source_up',
      help: 'Whether the last scrape could read the external metrics source (1) or not (0)',
      labelNames: ['source'],
      registers: [this.registry],
    });
  }

  /** Content type of the text that `render` returns. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Appends the source's text to every rendering until the returned function removes it again. */
  addSource(source: ExternalMetricsSource): () => void {
    this.sources.add(source);
    return () => {
      this.sources.delete(source);
      this.sourceUp.remove({ source: source.name });
    };
  }

  /**
   * Renders the registry and every external source in the Prometheus text format. A source that
   * cannot be read is left out and reported through `ota_metrics_source_up`, so the process's own
   * metrics are still served.
   */
  async render(): Promise<string> {
    const external = await Promise.all([...this.sources].map((source) => this.readSource(source)));
    const own = await this.registry.metrics();
    return [own, ...external].map(withTrailingNewline).join('');
  }

  private async readSource(source: ExternalMetricsSource): Promise<string> {
    try {
      const text = await source.read();
      this.sourceUp.set({ source: source.name }, 1);
      return text;
    } catch (error) {
      this.sourceUp.set({ source: source.name }, 0);
      // Prometheus scrapes every few seconds, so a source that is down would otherwise log on each scrape.
      const { log, suppressed } = this.throttle.take(source.name);
      if (log) this.logger?.warn({ err: error, source: source.name, suppressed }, 'could not read an external metrics source; serving the other metrics without it');
      return '';
    }
  }
}

function withTrailingNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

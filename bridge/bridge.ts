import type { MqttClient } from 'mqtt';
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import { parseReportTopic, REPORT_TOPIC_FILTERS, upgradeWorkflowId } from '../protocol';
import type { Logger } from '../observability/logger';
import type { ReportHandler, ReportOutcome } from './report-handler';

/** Counts of handled messages by outcome, plus failures that were retried. */
export type BridgeCounts = Record<ReportOutcome | 'retried_errors', number>;

export interface Bridge {
  counts(): BridgeCounts;
  /** Stops taking messages and resolves once the message in hand is handled and acknowledged. */
  stop(): Promise<void>;
}

const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 5000];

/**
 * Feeds the reports arriving on an MQTT connection into a ReportHandler. The client must have a
 * persistent session (clean: false) so that reports published while the bridge is down are delivered
 * when it comes back.
 *
 * mqtt.js sends the PUBACK of a QoS 1 message only after `handleMessage` calls back, and takes the next
 * packet only then. So a message is acknowledged once it is stored and signalled, and one that fails
 * because MongoDB or Temporal is unavailable is retried here, holding back the rest, until it succeeds
 * or the bridge stops; the broker then redelivers it to the next session.
 */
export async function startBridge(
  client: MqttClient,
  handler: ReportHandler,
  logger: Logger,
  topicFilters: readonly string[] = REPORT_TOPIC_FILTERS,
  metrics?: BridgeMetrics,
): Promise<Bridge> {
  const counts: BridgeCounts = {
    rejected_topic: 0,
    rejected_oversized: 0,
    rejected_json: 0,
    rejected_payload: 0,
    ignored_late: 0,
    coalesced: 0,
    rate_limited: 0,
    signal_rejected: 0,
    stored_no_upgrade: 0,
    stored_no_version: 0,
    signalled: 0,
    retried_errors: 0,
  };
  let stopping = false;
  let inFlight: Promise<void> = Promise.resolve();

  const handleWithRetry = async (topic: string, payload: Buffer): Promise<void> => {
    const receivedAt = new Date();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const outcome = await handler.handle(topic, payload, receivedAt);
        counts[outcome] += 1;
        metrics?.countHandled(outcome);
        return;
      } catch (error) {
        counts.retried_errors += 1;
        metrics?.reportErrors.inc();
        if (stopping) {
          logger.warn({ err: error, topic, ...reportIds(topic) }, 'report not handled before stop; the broker will redeliver it');
          throw error;
        }
        const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        logger.error({ err: error, topic, ...reportIds(topic), attempt: attempt + 1, retryInMs: delay }, 'failed to handle report, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  client.handleMessage = (packet, callback) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    metrics?.reportsReceived.inc();
    inFlight = handleWithRetry(packet.topic, payload).then(
      () => callback(),
      // No PUBACK: leaving the callback uncalled keeps the message unacknowledged in the session.
      () => undefined,
    );
  };

  const subscribe = async () => {
    const granted = await client.subscribeAsync([...topicFilters], { qos: 1 });
    for (const grant of granted) {
      if (grant.qos !== 1) throw new Error(`broker granted QoS ${grant.qos} instead of 1 for '${grant.topic}'`);
    }
  };
  await subscribe();
  logger.info({ topics: topicFilters }, 'bridge subscribed');
  // mqtt.js subscribes again after a reconnect only when the broker kept no session. Mosquitto 2.0.11
  // restores a persistent session after a restart with its shared subscriptions broken: they deliver
  // nothing, and subscribing again changes nothing, while unsubscribing first repairs them. So on every
  // reconnect the bridge unsubscribes from shared filters and subscribes again.
  // NOTE: reports that reach such a broker between its restart and this repair are lost; their upgrades
  // recover through the stall timeout and a retry.
  const shared = topicFilters.some((filter) => filter.startsWith('$share/'));
  client.on('connect', () => {
    const repair = shared ? client.unsubscribeAsync([...topicFilters]).then(subscribe) : subscribe();
    repair.then(
      () => logger.info({ topics: topicFilters }, 'bridge subscribed again after reconnecting'),
      (error: unknown) => logger.error({ err: error }, 'failed to subscribe again after reconnecting'),
    );
  });

  return {
    counts: () => ({ ...counts }),
    async stop() {
      stopping = true;
      await inFlight;
      await client.endAsync();
      logger.info({ counts }, 'bridge stopped');
    },
  };
}

/** Device, message and upgrade workflow ids of a report topic for log lines, or none for an invalid topic. */
function reportIds(topic: string): { productName?: string; deviceName?: string; messageId?: string; workflowId?: string } {
  const parsed = parseReportTopic(topic);
  if (!parsed.ok) return {};
  const { productName, deviceName, messageId } = parsed.topic;
  return { productName, deviceName, messageId, workflowId: upgradeWorkflowId({ productName, deviceName }) };
}

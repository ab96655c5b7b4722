import type { MqttClient } from 'mqtt';
import { REPORT_TOPIC_FILTERS } from '../protocol';
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
        return;
      } catch (error) {
        counts.retried_errors += 1;
        if (stopping) {
          logger.warn({ err: error, topic }, 'report not handled before stop; the broker will redeliver it');
          throw error;
        }
        const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        logger.error({ err: error, topic, attempt: attempt + 1, retryInMs: delay }, 'failed to handle report, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  client.handleMessage = (packet, callback) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    inFlight = handleWithRetry(packet.topic, payload).then(
      () => callback(),
      // No PUBACK: leaving the callback uncalled keeps the message unacknowledged in the session.
      () => undefined,
    );
  };

  const granted = await client.subscribeAsync([...topicFilters], { qos: 1 });
  for (const grant of granted) {
    if (grant.qos !== 1) throw new Error(`broker granted QoS ${grant.qos} instead of 1 for '${grant.topic}'`);
  }
  logger.info({ topics: topicFilters }, 'bridge subscribed');

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

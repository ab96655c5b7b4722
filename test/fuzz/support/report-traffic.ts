import mqtt, { type MqttClient } from 'mqtt';
import { REPORT_TOPIC_FILTERS } from '../../../protocol';
import type { BridgeService } from '../../../bridge/bridge-service';
import type { BridgeCounts } from '../../../bridge/bridge';
import { REPORT_OUTCOMES } from '../../../bridge/report-handler';
import { waitFor } from '../../support/worker-harness';

/** Messages the bridge has handled so far, whatever their outcome; retries of failed ones are not messages. */
export function handledMessages(bridge: BridgeService): number {
  return sumOutcomes(bridge.counts());
}

/** Messages handled between two readings of the bridge's counts. */
export function handledMessagesSince(before: BridgeCounts, after: BridgeCounts): number {
  return sumOutcomes(after) - sumOutcomes(before);
}

function sumOutcomes(counts: BridgeCounts): number {
  return REPORT_OUTCOMES.reduce((sum, outcome) => sum + counts[outcome], 0);
}

/**
 * Counts what the broker delivers on the bridge's topic filters, through a probe client subscribed to
 * the same filters. Every engine's bridge takes every report on the broker, other test files' included,
 * so the messages it handled are compared with what the probe received, not with what this test
 * published. Once both are idle, the bridge has handled exactly as many messages as the probe received,
 * plus a constant offset from before the probe subscribed.
 */
export class ReportTraffic {
  private received = 0;
  private readonly awaited = new Map<string, number>();
  private awaitedCount = 0;
  private offset = 0;

  private constructor(private readonly probe: MqttClient) {
    probe.on('message', (topic) => {
      this.received += 1;
      const waiting = this.awaited.get(topic);
      if (waiting === undefined) return;
      this.awaitedCount -= 1;
      if (waiting === 1) this.awaited.delete(topic);
      else this.awaited.set(topic, waiting - 1);
    });
  }

  static async start(url: string, clientId: string): Promise<ReportTraffic> {
    const probe = await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0 });
    const traffic = new ReportTraffic(probe);
    await probe.subscribeAsync([...REPORT_TOPIC_FILTERS], { qos: 1 });
    return traffic;
  }

  /** Messages the probe received on the report topics. */
  get messagesReceived(): number {
    return this.received;
  }

  /** Waits until neither the bridge nor the probe took a message for a second, and records the difference of their counts. */
  async settle(bridge: BridgeService): Promise<void> {
    let last = '';
    await waitFor(
      'idle report traffic',
      async () => {
        const now = `${handledMessages(bridge)}:${this.received}`;
        const idle = now === last;
        last = now;
        if (!idle) await new Promise((resolve) => setTimeout(resolve, 1_000));
        return idle ? true : undefined;
      },
      120_000,
    );
    this.offset = handledMessages(bridge) - this.received;
  }

  /** Registers published messages on matching topics, which the probe must receive before waitForBridge returns. */
  expect(topics: readonly string[]): void {
    for (const topic of topics) {
      this.awaited.set(topic, (this.awaited.get(topic) ?? 0) + 1);
      this.awaitedCount += 1;
    }
  }

  /**
   * Waits until the probe received every expected message and the bridge handled as many messages as
   * the probe received (plus the offset from settle). Throws with both counts after `timeoutMs`.
   */
  async waitForBridge(bridge: BridgeService, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = this.received + this.offset - handledMessages(bridge);
      if (this.awaitedCount === 0 && behind === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`the bridge handled ${handledMessages(bridge)} messages, expected ${this.received + this.offset} (${behind} missing); ${this.awaitedCount} published messages never reached the probe`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await this.probe.endAsync();
  }
}

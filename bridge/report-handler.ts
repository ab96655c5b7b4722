import { parseReportTopic, progressReportSchema, ReportKind, statusReportSchema, MAX_REPORT_PAYLOAD_BYTES } from '../protocol';
import type { DeviceRegistry } from '../storage/device-registry';
import type { Logger } from '../observability/logger';
import type { SignalResult, UpgradeSignaller } from './upgrade-signaller';

/** What became of one MQTT message. */
export type ReportOutcome =
  | 'rejected_topic'
  | 'rejected_oversized'
  | 'rejected_json'
  | 'rejected_payload'
  | 'stored_no_upgrade'
  | 'signalled';

/**
 * Handles one report from a device: validates topic and payload, stores the device's latest status or
 * progress, and forwards it to the device's running upgrade. Invalid input is logged and counted, never
 * thrown, so one bad message cannot stop the bridge. Storage and Temporal errors are thrown to the caller,
 * which retries them.
 */
export class ReportHandler {
  constructor(
    private readonly deps: {
      registry: Pick<DeviceRegistry, 'recordProgress' | 'recordStatus'>;
      signaller: Pick<UpgradeSignaller, 'signalProgress' | 'signalStatus'>;
      logger: Logger;
    },
  ) {}

  async handle(topic: string, payload: Buffer, receivedAt: Date): Promise<ReportOutcome> {
    const parsedTopic = parseReportTopic(topic);
    if (!parsedTopic.ok) return this.reject('rejected_topic', topic, parsedTopic.error);
    const { kind, messageId, ...ref } = parsedTopic.topic;

    if (payload.length > MAX_REPORT_PAYLOAD_BYTES) {
      return this.reject('rejected_oversized', topic, `payload of ${payload.length} bytes exceeds ${MAX_REPORT_PAYLOAD_BYTES}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.reject('rejected_json', topic, 'payload is not JSON');
    }

    let result: SignalResult;
    if (kind === ReportKind.OTA_PROGRESS) {
      const report = progressReportSchema.safeParse(body);
      if (!report.success) return this.reject('rejected_payload', topic, describeIssues(report.error.issues));
      await this.deps.registry.recordProgress(ref, report.data, messageId, receivedAt);
      result = await this.deps.signaller.signalProgress(ref, { messageId, ...report.data, receivedAt: receivedAt.getTime() });
    } else {
      const report = statusReportSchema.safeParse(body);
      if (!report.success) return this.reject('rejected_payload', topic, describeIssues(report.error.issues));
      await this.deps.registry.recordStatus(ref, report.data, receivedAt);
      const firmwareVer = report.data.firmware_ver;
      result = await this.deps.signaller.signalStatus(ref, {
        messageId,
        ...(typeof firmwareVer === 'string' ? { firmwareVer } : {}),
        receivedAt: receivedAt.getTime(),
      });
    }
    return result === 'signalled' ? 'signalled' : 'stored_no_upgrade';
  }

  private reject(outcome: ReportOutcome, topic: string, reason: string): ReportOutcome {
    // The topic is cut so that a flood of long garbage topics cannot flood the log as well.
    this.deps.logger.warn({ outcome, topic: topic.slice(0, 200), reason }, 'rejected MQTT message');
    return outcome;
  }
}

function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || 'payload'}: ${issue.message}`).join('; ');
}

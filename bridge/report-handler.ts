import { parseReportTopic, progressReportSchema, ReportKind, statusReportSchema, MAX_REPORT_PAYLOAD_BYTES } from '../protocol';
import { LogThrottle } from './log-throttle';
import type { RegistryWriteBuffer } from './registry-write-buffer';
import type { Logger } from '../observability/logger';
import type { DeviceRef } from '../protocol';
import type { ProgressSignal } from '../workflows/upgrade-tracker';
import type { SignalResult, UpgradeSignaller } from './upgrade-signaller';

/** Every outcome of one MQTT message, listed so that metrics can start each one's count at zero. */
export const REPORT_OUTCOMES = [
  'rejected_topic',
  'rejected_oversized',
  'rejected_json',
  'rejected_payload',
  'ignored_late',
  'coalesced',
  'rate_limited',
  'signal_rejected',
  'stored_no_upgrade',
  'stored_no_version',
  'signalled',
] as const;

/** Outcome of one MQTT message. */
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];

/**
 * Handles one report from a device: validates topic and payload, queues the device's latest status or
 * progress for the registry, and forwards the report to the device's running upgrade. A repeated or late
 * report (by its message id) is dropped before it reaches either. Invalid input is logged and counted,
 * never thrown, so one bad message cannot stop the bridge. Temporal errors are thrown to the caller,
 * which retries them.
 */
export class ReportHandler {
  private readonly throttle = new LogThrottle();

  constructor(
    private readonly deps: {
      registry: Pick<RegistryWriteBuffer, 'addProgress' | 'addStatus' | 'waitForCapacity'>;
      signaller: {
        signalProgress(ref: DeviceRef, signal: ProgressSignal): Promise<SignalResult | 'coalesced'>;
        signalStatus: UpgradeSignaller['signalStatus'];
      };
      logger: Logger;
    },
  ) {}

  async handle(topic: string, payload: Buffer, receivedAt: Date): Promise<ReportOutcome> {
    const parsedTopic = parseReportTopic(topic);
    if (!parsedTopic.ok) return this.reject('rejected_topic', topic, parsedTopic.error);
    const { kind, messageId, ...ref } = parsedTopic.topic;

    if (payload.length > MAX_REPORT_PAYLOAD_BYTES) {
      return this.reject('rejected_oversized', topic, `payload of ${payload.length} bytes exceeds ${MAX_REPORT_PAYLOAD_BYTES}`, { ...ref, messageId });
    }
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.reject('rejected_json', topic, 'payload is not JSON', { ...ref, messageId });
    }

    let result: SignalResult | 'coalesced';
    await this.deps.registry.waitForCapacity();
    if (kind === ReportKind.OTA_PROGRESS) {
      const report = progressReportSchema.safeParse(body);
      if (!report.success) return this.reject('rejected_payload', topic, describeIssues(report.error.issues), { ...ref, messageId });
      if (!this.deps.registry.addProgress(ref, report.data, messageId, receivedAt)) return 'ignored_late';
      result = await this.deps.signaller.signalProgress(ref, { messageId, ...report.data, receivedAt: receivedAt.getTime() });
    } else {
      const report = statusReportSchema.safeParse(body);
      if (!report.success) return this.reject('rejected_payload', topic, describeIssues(report.error.issues), { ...ref, messageId });
      if (!this.deps.registry.addStatus(ref, report.data, messageId, receivedAt)) return 'ignored_late';
      const firmwareVer = report.data.firmware_ver;
      // An upgrade decides on firmware_ver alone, so a status without it is stored and not signalled.
      // A device that often sends other fields then cannot use up the signals its upgrade needs.
      if (typeof firmwareVer !== 'string') return 'stored_no_version';
      result = await this.deps.signaller.signalStatus(ref, { messageId, firmwareVer, receivedAt: receivedAt.getTime() });
    }
    switch (result) {
      case 'coalesced':
      case 'rate_limited':
      case 'signalled':
        return result;
      case 'rejected':
        return 'signal_rejected';
      case 'no_running_upgrade':
        return 'stored_no_upgrade';
    }
  }

  /** Logs and returns a rejection; `report` carries the device and message id once the topic parsed. */
  private reject(outcome: ReportOutcome, topic: string, reason: string, report?: DeviceRef & { messageId: string }): ReportOutcome {
    // Lines are throttled per kind of rejection and topics cut, so a flood of garbage cannot flood the log.
    const { log, suppressed } = this.throttle.take(outcome);
    if (log) this.deps.logger.warn({ outcome, topic: topic.slice(0, 200), ...report, reason, suppressed }, 'rejected MQTT message');
    return outcome;
  }
}

function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || 'payload'}: ${issue.message}`).join('; ');
}

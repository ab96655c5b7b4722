import { ObjectId } from 'bson';
import { ReportKind, reportTopic, type DeviceRef } from '../protocol';
import type { DeviceLink } from './device-link';
import type { PlannedReport } from './report-plan';

/** A report the device published and the broker acknowledged. Times are milliseconds since the epoch. */
export interface PublishedReport {
  kind: ReportKind;
  topic: string;
  messageId: string;
  body: Record<string, unknown>;
  /** 1 for the original, 2 for the second copy that the `duplicates` scenario sends. */
  copy: 1 | 2;
  /** Request id of the command whose run sent the report; undefined for the status report on connection. */
  requestId: string | undefined;
  issuedAt: number;
  acknowledgedAt: number;
}

/** Turns planned reports into MQTT messages on the report topics, each with a fresh ObjectId as messageId. */
export class ReportPublisher {
  constructor(
    private readonly device: DeviceRef,
    private readonly link: DeviceLink,
    private readonly now: () => number,
  ) {}

  /**
   * Publishes `copies` messages of one report under one messageId, as a QoS 1 redelivery would
   * repeat it, and resolves with each copy once the broker acknowledged it.
   */
  async publish(report: PlannedReport, copies: 1 | 2, requestId: string | undefined): Promise<PublishedReport[]> {
    const kind = report.kind === 'progress' ? ReportKind.OTA_PROGRESS : ReportKind.STATUS;
    const body: Record<string, unknown> = report.kind === 'progress' ? { ...report.body } : { firmware_ver: report.firmwareVersion };
    const messageId = new ObjectId().toHexString();
    const topic = reportTopic({ kind, ...this.device, messageId });
    const payload = JSON.stringify(body);
    const issuedAt = this.now();

    const sends: Promise<PublishedReport>[] = [];
    for (let copy = 1; copy <= copies; copy += 1) {
      sends.push(
        this.link.publish(topic, payload).then(() => ({
          kind,
          topic,
          messageId,
          body,
          copy: copy as 1 | 2,
          requestId,
          issuedAt,
          acknowledgedAt: this.now(),
        })),
      );
    }
    return Promise.all(sends);
  }
}

import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { CommandName, commandTopic, parseReportTopic, ReportKind, type OtaUpgradePayload } from '../../protocol';

/** A report as it arrived on the wire. */
export interface WireReport {
  kind: ReportKind;
  deviceName: string;
  messageId: string;
  body: Record<string, unknown>;
  receivedAt: number;
}

export const TEST_FIRMWARE: OtaUpgradePayload = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'c4ca4238a0b923820dcc509a6f75849b',
};

/** Broker URL for the tests that need one; undefined makes them skip. */
export const BROKER_URL = process.env.MQTT_URL;

/** `describe` when a broker is configured, otherwise `describe.skip` with a note on why. */
export function describeWithBroker(name: string, body: () => void): void {
  if (BROKER_URL === undefined) {
    // Jest prints no names for a file whose tests are all skipped, so the reason goes to the console.
    console.warn(`skipping '${name}': MQTT_URL is not set; point it at a running MQTT broker to run these tests`);
    describe.skip(`${name} (skipped: MQTT_URL is not set)`, body);
    return;
  }
  describe(name, body);
}

/** Returns a product name no earlier test run used, so persistent sessions of earlier runs cannot interfere. */
export function uniqueProductName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Plays the bridge's part on the broker: records every report of one product and publishes
 * commands to its devices.
 */
export class BridgeProbe {
  readonly reports: WireReport[] = [];
  private client: MqttClient | undefined;
  private requestCounter = 0;

  constructor(
    private readonly url: string,
    readonly productName: string,
  ) {}

  async open(): Promise<void> {
    const client = await mqtt.connectAsync(this.url, { clientId: `probe-${this.productName}`, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
    this.client = client;
    client.on('message', (topic, payload) => {
      const parsed = parseReportTopic(topic);
      if (!parsed.ok) throw new Error(`probe received a message on ${topic}, which is not a report topic: ${parsed.error}`);
      this.reports.push({
        kind: parsed.topic.kind,
        deviceName: parsed.topic.deviceName,
        messageId: parsed.topic.messageId,
        body: JSON.parse(payload.toString('utf8')) as Record<string, unknown>,
        receivedAt: Date.now(),
      });
    });
    await client.subscribeAsync([`${ReportKind.OTA_PROGRESS}/${this.productName}/+/+`, `${ReportKind.STATUS}/${this.productName}/+/+`], { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client?.endAsync();
  }

  /** Publishes an `$ota_upgrade` command and returns its request id. */
  async sendOtaUpgrade(
    deviceName: string,
    options: { requestId?: string; expiresAt?: number; encoding?: 'plain' | 'base64'; payload?: unknown; commandName?: string } = {},
  ): Promise<string> {
    this.requestCounter += 1;
    const requestId = options.requestId ?? `req-${this.requestCounter}`;
    const json = JSON.stringify(options.payload ?? TEST_FIRMWARE);
    const body = options.encoding === 'base64' ? Buffer.from(json).toString('base64') : json;
    const topic = commandTopic({
      productName: this.productName,
      deviceName,
      commandName: options.commandName ?? CommandName.OTA_UPGRADE,
      encoding: options.encoding ?? 'plain',
      requestId,
      expiresAt: options.expiresAt ?? Date.now() + 60_000,
    });
    await this.client!.publishAsync(topic, body, { qos: 1 });
    return requestId;
  }

  /** Reports of one device, in order of arrival. */
  reportsOf(deviceName: string): WireReport[] {
    return this.reports.filter((report) => report.deviceName === deviceName);
  }

  /**
   * Short form of a device's reports: `version:progress` for progress reports and `ver=X` for
   * status reports, in order of arrival.
   */
  sequenceOf(deviceName: string): string[] {
    return this.reportsOf(deviceName).map((report) =>
      report.kind === ReportKind.OTA_PROGRESS ? `${String(report.body.version)}:${String(report.body.progress)}` : `ver=${String(report.body.firmware_ver)}`,
    );
  }

  /** Resolves once `predicate` holds for the reports of `deviceName`, polling every 10 ms. */
  async waitForReports(deviceName: string, predicate: (reports: WireReport[]) => boolean, timeoutMs = 10_000): Promise<WireReport[]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const reports = this.reportsOf(deviceName);
      if (predicate(reports)) return reports;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for reports of ${deviceName}; received: ${this.sequenceOf(deviceName).join(', ')}`);
  }
}

import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { CommandName, commandTopic, parseReportTopic, ReportKind } from '../protocol';
import { deviceNames } from './workload';

/** Settings of the MQTT floor's subscriber, passed as JSON in its first argument. */
export interface MqttFloorConfig {
  mqttUrl: string;
  productName: string;
  count: number;
  window: number;
  firmware: { type: string; url: string; version: string; size: number; md5: string };
  /** Devices whose reports are recorded one by one for the latency figures. */
  sampledDevices: string[];
}

/** Arrival time of one report of a sampled device. */
export interface ReceiveRecord {
  messageId: string;
  receivedAt: number;
}

/** Messages the subscriber sends to the benchmark over IPC. */
export type MqttFloorMessage =
  | { type: 'subscribed' }
  | { type: 'registered'; devices: number }
  | {
      type: 'done';
      startedAt: number;
      endedAt: number;
      finishedDevices: number;
      progressReports: number;
      statusReports: number;
      records: ReceiveRecord[];
    };

const COMMAND_TTL_MS = 10 * 60_000;

/**
 * Runs the MQTT floor's plain mqtt.js client. It sends each device its `$ota_upgrade` command, keeps the
 * same window of devices upgrading as the campaign, and counts the reports, with no bridge, MongoDB or
 * Temporal in between. A device counts as finished when its status report with the target version
 * arrives, and that frees its place in the window.
 */
async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as MqttFloorConfig;
  const client = await mqtt.connectAsync(config.mqttUrl, {
    clientId: `bench-floor-subscriber-${process.pid}`,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1000,
  });
  const sampled = new Set(config.sampledDevices);
  const names = deviceNames(config.count);
  const registered = new Set<string>();
  const finished = new Set<string>();
  const records: ReceiveRecord[] = [];
  let progressReports = 0;
  let statusReports = 0;
  let nextDevice = 0;
  let startedAt = 0;
  let running = false;

  const commandNext = () => {
    const deviceName = names[nextDevice];
    if (deviceName === undefined) return;
    nextDevice += 1;
    const topic = commandTopic({
      productName: config.productName,
      deviceName,
      commandName: CommandName.OTA_UPGRADE,
      encoding: 'plain',
      requestId: randomUUID(),
      expiresAt: Date.now() + COMMAND_TTL_MS,
    });
    client.publish(topic, JSON.stringify(config.firmware), { qos: 1 });
  };

  client.on('message', (topic, payload) => {
    const receivedAt = Date.now();
    const parsed = parseReportTopic(topic);
    if (!parsed.ok) return;
    const { deviceName, kind, messageId } = parsed.topic;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }

    if (!running) {
      // Before the start only the status reports on connection arrive; they register the device.
      if (kind === ReportKind.STATUS) {
        registered.add(deviceName);
        if (registered.size === config.count) send({ type: 'registered', devices: registered.size });
      }
      return;
    }

    if (sampled.has(deviceName)) records.push({ messageId, receivedAt });
    if (kind === ReportKind.OTA_PROGRESS) {
      progressReports += 1;
      return;
    }
    statusReports += 1;
    if (body.firmware_ver !== config.firmware.version || finished.has(deviceName)) return;
    finished.add(deviceName);
    commandNext();
    if (finished.size === config.count) {
      send({ type: 'done', startedAt, endedAt: receivedAt, finishedDevices: finished.size, progressReports, statusReports, records });
    }
  });

  await client.subscribeAsync([`${ReportKind.OTA_PROGRESS}/${config.productName}/+/+`, `${ReportKind.STATUS}/${config.productName}/+/+`], { qos: 1 });

  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'start' || running) return;
    running = true;
    startedAt = Date.now();
    for (let index = 0; index < Math.min(config.window, config.count); index += 1) commandNext();
  });
  const stop = async () => {
    await client.endAsync(true);
    process.disconnect?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('disconnect', () => void stop());
  send({ type: 'subscribed' });
}

function send(message: MqttFloorMessage): void {
  process.send?.(message);
}

main().catch((error: unknown) => {
  process.stderr.write(`MQTT floor subscriber failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

import { deviceRefSchema, productNameSchema, type DeviceRef } from './names';

/** Command names the engine sends. Names starting with `$` are system commands of the IotHub protocol. */
export const CommandName = {
  OTA_UPGRADE: '$ota_upgrade',
} as const;

export type CommandEncoding = 'plain' | 'base64';

export interface CommandTopicParts extends DeviceRef {
  commandName: string;
  encoding: CommandEncoding;
  requestId: string;
  /** Milliseconds since the epoch after which the device ignores the command. */
  expiresAt: number;
}

/** Builds `cmd/{productName}/{deviceName}/{commandName}/{encoding}/{requestID}/{expiresAt}`. */
export function commandTopic(parts: CommandTopicParts): string {
  return [
    'cmd',
    parts.productName,
    parts.deviceName,
    parts.commandName,
    parts.encoding,
    parts.requestId,
    String(parts.expiresAt),
  ].join('/');
}

/** Topic filter a device subscribes to for all of its commands. */
export function deviceCommandFilter(ref: DeviceRef): string {
  return `cmd/${ref.productName}/${ref.deviceName}/+/+/+/+`;
}

/** Parses a command topic, returning undefined when it is not one. */
export function parseCommandTopic(topic: string): CommandTopicParts | undefined {
  const levels = topic.split('/');
  if (levels.length !== 7 || levels[0] !== 'cmd') return undefined;
  const [, productName, deviceName, commandName, encoding, requestId, expiresAtText] = levels as [
    string, string, string, string, string, string, string,
  ];
  const ref = deviceRefSchema.safeParse({ productName, deviceName });
  if (!ref.success) return undefined;
  if (encoding !== 'plain' && encoding !== 'base64') return undefined;
  if (commandName === '' || requestId === '' || !/^\d{1,16}$/.test(expiresAtText)) return undefined;
  return { ...ref.data, commandName, encoding, requestId, expiresAt: Number(expiresAtText) };
}

/** Report topics: devices publish OTA progress and status reports under these first levels. */
export const ReportKind = {
  OTA_PROGRESS: 'update_ota_status',
  STATUS: 'update_status',
} as const;
export type ReportKind = (typeof ReportKind)[keyof typeof ReportKind];

/** Topic filters the bridge subscribes to. */
export const REPORT_TOPIC_FILTERS: readonly string[] = [
  `${ReportKind.OTA_PROGRESS}/+/+/+`,
  `${ReportKind.STATUS}/+/+/+`,
];

/**
 * Report topic filters limited to the given products, for a bridge that serves only part of a broker's
 * fleet. Throws on a name that is not a valid product name, since a wildcard in it would widen the filter.
 */
export function productReportTopicFilters(productNames: readonly string[]): string[] {
  return productNames.flatMap((productName) => {
    const name = productNameSchema.parse(productName);
    return [`${ReportKind.OTA_PROGRESS}/${name}/+/+`, `${ReportKind.STATUS}/${name}/+/+`];
  });
}

export interface ReportTopicParts extends DeviceRef {
  kind: ReportKind;
  /** ObjectId in hex that the device generated for this report; a QoS 1 redelivery carries the same id. */
  messageId: string;
}

const OBJECT_ID_PATTERN = /^[0-9a-fA-F]{24}$/;

/** Builds `{kind}/{productName}/{deviceName}/{messageId}`. */
export function reportTopic(parts: ReportTopicParts): string {
  return `${parts.kind}/${parts.productName}/${parts.deviceName}/${parts.messageId}`;
}

export type ReportTopicParseResult =
  | { ok: true; topic: ReportTopicParts }
  | { ok: false; error: string };

/** Parses a report topic, returning why it was rejected when it is not a valid one. */
export function parseReportTopic(topic: string): ReportTopicParseResult {
  const levels = topic.split('/');
  if (levels.length !== 4) return { ok: false, error: `expected 4 topic levels, got ${levels.length}` };
  const [kind, productName, deviceName, messageId] = levels as [string, string, string, string];
  if (kind !== ReportKind.OTA_PROGRESS && kind !== ReportKind.STATUS) {
    return { ok: false, error: `unknown report topic '${kind}'` };
  }
  const ref = deviceRefSchema.safeParse({ productName, deviceName });
  if (!ref.success) return { ok: false, error: ref.error.issues.map((issue) => issue.message).join('; ') };
  if (!OBJECT_ID_PATTERN.test(messageId)) {
    return { ok: false, error: 'messageId must be an ObjectId of 24 hexadecimal digits' };
  }
  return { ok: true, topic: { kind, ...ref.data, messageId: messageId.toLowerCase() } };
}

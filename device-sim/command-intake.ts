import { CommandName, otaUpgradePayloadSchema, parseCommandTopic, type DeviceRef, type OtaUpgradePayload } from '../protocol';

/** Outcome of a received command. Every outcome but `accepted` means the device ignored it. */
export type CommandOutcome = 'accepted' | 'duplicate' | 'expired' | 'unsupported' | 'invalid';

/** A command as the device received it. Times are milliseconds since the epoch. */
export interface CommandRecord {
  topic: string;
  /** Undefined only when the topic itself was not a command topic of this device. */
  requestId: string | undefined;
  commandName: string | undefined;
  expiresAt: number | undefined;
  receivedAt: number;
  outcome: CommandOutcome;
  /** Reason the command was ignored, or undefined when it was accepted. */
  reason: string | undefined;
  /** The validated `$ota_upgrade` payload of an accepted command. */
  payload: OtaUpgradePayload | undefined;
}

/** Maximum number of request ids a device remembers to recognise redelivered commands. */
export const REMEMBERED_REQUEST_IDS = 1000;

/**
 * Request ids a device has seen, oldest first. Bounded because a long-running fleet receives an
 * unbounded number of commands; a redelivery of a command older than the last 1000 is handled again.
 */
export class RecentRequestIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = REMEMBERED_REQUEST_IDS) {}

  /** Records `requestId` and returns whether it was already known. */
  checkAndAdd(requestId: string): boolean {
    if (this.ids.has(requestId)) return true;
    this.ids.add(requestId);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return false;
  }
}

/**
 * Decides what a device does with a message on its command topic, in the order a device checks:
 * the topic, a redelivered request id, expiry, the command name, then the payload.
 */
export function inspectCommand(
  device: DeviceRef,
  topic: string,
  payload: Buffer,
  receivedAt: number,
  seenRequestIds: RecentRequestIds,
): CommandRecord {
  const parts = parseCommandTopic(topic);
  const base = { topic, receivedAt, requestId: parts?.requestId, commandName: parts?.commandName, expiresAt: parts?.expiresAt };
  const ignore = (outcome: CommandOutcome, reason: string): CommandRecord => ({ ...base, outcome, reason, payload: undefined });

  if (parts === undefined) return ignore('invalid', 'topic is not a command topic');
  if (parts.productName !== device.productName || parts.deviceName !== device.deviceName) {
    return ignore('invalid', `command is addressed to ${parts.productName}/${parts.deviceName}`);
  }
  if (seenRequestIds.checkAndAdd(parts.requestId)) return ignore('duplicate', `request ${parts.requestId} was already received`);
  if (parts.expiresAt < receivedAt) {
    return ignore('expired', `command expired at ${new Date(parts.expiresAt).toISOString()}, ${receivedAt - parts.expiresAt} ms before it arrived`);
  }
  if (parts.commandName !== CommandName.OTA_UPGRADE) return ignore('unsupported', `command '${parts.commandName}' is not supported`);

  const decoded = decodeOtaPayload(payload, parts.encoding);
  if (!decoded.ok) return ignore('invalid', decoded.error);
  return { ...base, outcome: 'accepted', reason: undefined, payload: decoded.payload };
}

type DecodeResult = { ok: true; payload: OtaUpgradePayload } | { ok: false; error: string };

function decodeOtaPayload(payload: Buffer, encoding: 'plain' | 'base64'): DecodeResult {
  // With base64 encoding the MQTT payload is the base64 text of the command's bytes.
  const bytes = encoding === 'base64' ? Buffer.from(payload.toString('latin1'), 'base64') : payload;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { ok: false, error: `payload is not valid JSON: ${(error as Error).message}` };
  }
  const parsed = otaUpgradePayloadSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, error: `invalid ${CommandName.OTA_UPGRADE} payload: ${parsed.error.issues.map((issue) => issue.message).join('; ')}` };
  }
  return { ok: true, payload: parsed.data };
}

import fc from 'fast-check';
import { stringOf, validName, NAME_ALPHABET } from './field-values';

/** One generated MQTT message. */
export interface FuzzMessage {
  /** What the generator meant to produce, shown in a counterexample. */
  label: string;
  topic: string;
  payload: Buffer;
  /** True when the topic matches the bridge's filters `update_ota_status/+/+/+` and `update_status/+/+/+`. */
  matchesBridge: boolean;
}

/** The device whose upgrade runs during the fuzz run, and the firmware it is being upgraded to. */
export interface RunningUpgrade {
  productName: string;
  deviceName: string;
  version: string;
  type: string;
}

export const MAX_REPORT_PAYLOAD_BYTES = 4096;
const HEX = '0123456789abcdefABCDEF';
const PROGRESS = 'update_ota_status';
const STATUS = 'update_status';

// Characters outside the name alphabet that a topic level may carry. '+', '#', NUL and control characters
// are left out because Mosquitto disconnects a client that publishes them in a topic name. '/' is left out
// because it changes the topic's levels.
const BAD_TOPIC_CHARS = [' ', '$', ':', '?', '%', '\\', '"', "'", '*', '@', '!', ',', ';', '=', '&', '~', '(', 'é', '中', '😀', '\u200b', 'Ω'];

const validMessageId = stringOf(HEX, 24, 24);
const invalidMessageId = fc.oneof(
  fc.constant(''),
  stringOf(HEX, 1, 23),
  stringOf(HEX, 25, 40),
  fc.tuple(stringOf(HEX, 23, 23), fc.constantFrom('g', 'z', 'G', ' ', '-', 'é', '$')).map(([hex, bad]) => `${hex}${bad}`),
  fc.constantFrom('not-an-object-id', '0x1234567890abcdef12345678', '12345678901234567890123'),
);
const invalidTopicName = fc.oneof(
  fc.constantFrom('', '.', '..', '$SYS', '$share'),
  stringOf(NAME_ALPHABET.replace('.', ''), 65, 120),
  fc.tuple(stringOf(NAME_ALPHABET, 0, 12), fc.constantFrom(...BAD_TOPIC_CHARS), fc.nat()).map(([text, char, position]) => {
    const at = position % (text.length + 1);
    return `${text.slice(0, at)}${char}${text.slice(at)}`;
  }),
);

// --- Payloads

const randomBytes = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
const randomText = fc.string({ maxLength: 200, unit: 'binary' }).map((text) => Buffer.from(text, 'utf8'));
const randomJson = fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8'));
const anyJsonValue = fc.jsonValue({ maxDepth: 2 });

/** A progress body whose fields have random JSON types, some missing. */
const wrongTypeProgress = fc
  .record({ version: anyJsonValue, type: anyJsonValue, progress: anyJsonValue, desc: anyJsonValue }, { requiredKeys: [] })
  .map((body) => Buffer.from(JSON.stringify(body), 'utf8'));

/** A progress body valid in form whose version or type is not the running upgrade's, or whose progress is out of range. */
function progressBody(running: RunningUpgrade): fc.Arbitrary<Record<string, unknown>> {
  const versionOrType = fc.oneof(
    fc.record({ version: fc.oneof(fc.constantFrom('1.0', '1.10', `${running.version} `, `${running.version}.0`, running.version.toUpperCase() + 'x'), stringOf(`${NAME_ALPHABET}+`, 1, 64)), type: fc.constant(running.type) }),
    fc.record({ version: fc.constant(running.version), type: fc.oneof(fc.constantFrom('Firmware', 'config', `${running.type}-x`), stringOf(NAME_ALPHABET, 1, 32)) }),
  );
  return fc.oneof(
    fc.tuple(versionOrType, fc.integer({ min: -4, max: 100 }), fc.option(fc.string({ maxLength: 256 }), { nil: undefined })).map(([names, progress, desc]) => ({
      ...names,
      progress,
      ...(desc === undefined ? {} : { desc }),
    })),
    fc.record({
      version: fc.constant(running.version),
      type: fc.constant(running.type),
      progress: fc.oneof(fc.integer({ min: 101 }), fc.integer({ max: -5 }), fc.constantFrom(50.5, '50', null, 1e308, -0.5, true)),
    }),
    fc.record({ version: fc.constant(running.version), type: fc.constant(running.type), progress: fc.integer({ min: 0, max: 100 }), desc: fc.oneof(fc.string({ minLength: 257, maxLength: 300 }), fc.integer(), fc.constant(null)) }),
    fc.record({ version: fc.constantFrom('', 'v'.repeat(65)), type: fc.constant(running.type), progress: fc.constant(50) }),
  );
}

/** A status body: valid in form without the target version, or invalid (nested values, bad names, too many fields). */
function statusBody(running: RunningUpgrade): fc.Arbitrary<Record<string, unknown>> {
  const fieldName = fc.tuple(stringOf('abcdefghijklmnopqrstuvwxyz_', 1, 1), stringOf('abcdefghijklmnopqrstuvwxyz0123456789_-', 0, 20)).map(([first, rest]) => `${first}${rest}`);
  const scalar = fc.oneof(fc.string({ maxLength: 256 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
  return fc.oneof(
    fc.dictionary(fieldName.filter((name) => name !== 'firmware_ver'), scalar, { maxKeys: 10 }),
    fc.oneof(fc.constantFrom('1.0', `${running.version} `, `${running.version}.1`, '', 'x'.repeat(256)), fc.string({ maxLength: 64 })).filter((version) => version !== running.version).map((version) => ({ firmware_ver: version })),
    fc.constantFrom({ firmware_ver: 1.1 }, { firmware_ver: null }, { firmware_ver: true }, { firmware_ver: [running.version] }, { firmware_ver: { version: running.version } }),
    fc.constantFrom({ 'a.b': 1 }, { $set: 1 }, { '1abc': 1 }, { '': 1 }, { ['x'.repeat(65)]: 1 }, { nested: { a: 1 } }, { list: [1, 2] }, { long: 'x'.repeat(257) }),
    fc.integer({ min: 33, max: 60 }).map((count) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`field${index}`, index]))),
  );
}

/** A payload larger than the bridge accepts: a report that would be valid for the running upgrade, padded, or filler. */
function oversized(running: RunningUpgrade): fc.Arbitrary<Buffer> {
  const report = JSON.stringify({ version: running.version, type: running.type, progress: 50 });
  return fc
    .oneof({ weight: 8, arbitrary: fc.integer({ min: MAX_REPORT_PAYLOAD_BYTES + 1, max: 70_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 1024 * 1024, max: 3 * 1024 * 1024 }) })
    .chain((size) =>
      fc.constantFrom(report.padEnd(size, ' '), JSON.stringify({ firmware_ver: running.version, padding: 'x'.repeat(size) }), 'x'.repeat(size)).map((text) => Buffer.from(text, 'utf8')),
    );
}

// --- Topics and messages

interface TopicChoice {
  topic: string;
  matchesBridge: boolean;
  /** The report kind of a matching topic with valid names and id, else undefined. */
  kind?: 'progress' | 'status';
  /** True when the topic is a valid report topic of the running upgrade's device. */
  running: boolean;
  label: string;
}

/** Report topics for the running device, known-looking devices of a product without upgrades, random devices, and malformed topics. */
function topicChoice(running: RunningUpgrade, product: string, devices: readonly string[]): fc.Arbitrary<TopicChoice> {
  const kind = fc.constantFrom<'progress' | 'status'>('progress', 'status');
  const level = (reportKind: 'progress' | 'status') => (reportKind === 'progress' ? PROGRESS : STATUS);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.tuple(kind, validMessageId).map(([reportKind, id]): TopicChoice => ({
        topic: `${level(reportKind)}/${running.productName}/${running.deviceName}/${id}`,
        matchesBridge: true,
        kind: reportKind,
        running: true,
        label: `running device ${reportKind}`,
      })),
    },
    {
      weight: 4,
      arbitrary: fc.tuple(kind, fc.constantFrom(...devices), validMessageId).map(([reportKind, device, id]): TopicChoice => ({
        topic: `${level(reportKind)}/${product}/${device}/${id}`,
        matchesBridge: true,
        kind: reportKind,
        running: false,
        label: `device without upgrade ${reportKind}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(kind, validName, validName, validMessageId).map(([reportKind, productName, device, id]): TopicChoice => ({
        topic: `${level(reportKind)}/${productName}/${device}/${id}`,
        matchesBridge: true,
        kind: reportKind,
        running: false,
        label: `unknown device ${reportKind}`,
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(kind, fc.oneof(invalidTopicName, fc.constant(product)), fc.oneof(invalidTopicName, fc.constant(running.deviceName)), fc.oneof(invalidMessageId, validMessageId))
        .filter(([, productName, device, id]) => !(productName === product && device === running.deviceName && id.length === 24 && /^[0-9a-fA-F]+$/.test(id)))
        .map(([reportKind, productName, device, id]): TopicChoice => ({
          topic: `${level(reportKind)}/${productName}/${device}/${id}`,
          matchesBridge: true,
          running: false,
          label: 'invalid topic levels',
        })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(kind, invalidMessageId).map(([reportKind, id]): TopicChoice => ({
        topic: `${level(reportKind)}/${running.productName}/${running.deviceName}/${id}`,
        matchesBridge: true,
        running: false,
        label: 'running device, invalid message id',
      })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            (p: string, d: string) => `${PROGRESS}/${p}/${d}`,
            (p: string, d: string, id: string) => `${STATUS}/${p}/${d}/${id}/extra`,
            (p: string, d: string, id: string) => `/${PROGRESS}/${p}/${d}/${id}`,
            (p: string, d: string, id: string) => `update_ota_status2/${p}/${d}/${id}`,
            (p: string, d: string, id: string) => `Update_Status/${p}/${d}/${id}`,
            (p: string, d: string, id: string) => `update-status/${p}/${d}/${id}`,
            () => `${STATUS}`,
            (p: string, d: string, id: string) => `fuzz/${p}/${d}/${id}`,
          ),
          validMessageId,
        )
        .map(([build, id]): TopicChoice => ({ topic: build(running.productName, running.deviceName, id), matchesBridge: false, running: false, label: 'topic outside the subscription' })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(`${PROGRESS}///`, `${STATUS}/${product}//`, `${STATUS}/${product}/${devices[0]}/`).map((topic): TopicChoice => ({ topic, matchesBridge: true, running: false, label: 'empty topic levels' })),
    },
  );
}

/** Payloads of every kind; valid-looking report bodies go to the topic of either kind, so topic and payload may disagree. */
function payloadChoice(running: RunningUpgrade): fc.Arbitrary<{ payload: Buffer; label: string }> {
  const json = (body: unknown) => Buffer.from(JSON.stringify(body), 'utf8');
  return fc.oneof(
    { weight: 2, arbitrary: randomBytes.map((payload) => ({ payload, label: 'random bytes' })) },
    { weight: 1, arbitrary: randomText.map((payload) => ({ payload, label: 'random text' })) },
    { weight: 2, arbitrary: randomJson.map((payload) => ({ payload, label: 'random JSON' })) },
    { weight: 2, arbitrary: wrongTypeProgress.map((payload) => ({ payload, label: 'progress with wrong types' })) },
    { weight: 4, arbitrary: progressBody(running).map((body) => ({ payload: json(body), label: 'progress body' })) },
    { weight: 4, arbitrary: statusBody(running).map((body) => ({ payload: json(body), label: 'status body' })) },
    { weight: 1, arbitrary: oversized(running).map((payload) => ({ payload, label: `oversized (${payload.length} bytes)` })) },
    // The running upgrade's own reports, which are valid only on the topic of their kind; on the other they must be ignored.
    { weight: 1, arbitrary: fc.constant({ payload: json({ firmware_ver: running.version }), label: 'status of the target version' }) },
    { weight: 1, arbitrary: fc.integer({ min: -4, max: 100 }).map((progress) => ({ payload: json({ version: running.version, type: running.type, progress }), label: 'progress of the target version' })) },
    { weight: 1, arbitrary: fc.constant({ payload: Buffer.alloc(0), label: 'empty' }) },
  );
}

/**
 * Returns true when the bridge must pass a message on to the running upgrade and the upgrade would act
 * on it: a valid progress report of its version and type, or a status report of its target version.
 * The generator drops such messages, because they change the upgrade legitimately. This follows
 * protocol/messages.ts and the tracker's rules as README.md states them.
 */
export function changesRunningUpgrade(topic: TopicChoice, payload: Buffer, running: RunningUpgrade): boolean {
  if (!topic.running || topic.kind === undefined || payload.length > MAX_REPORT_PAYLOAD_BYTES) return false;
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return false;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const fields = body as Record<string, unknown>;
  if (topic.kind === 'progress') {
    return (
      fields.version === running.version &&
      fields.type === running.type &&
      Number.isInteger(fields.progress) &&
      (fields.progress as number) >= -4 &&
      (fields.progress as number) <= 100 &&
      (fields.desc === undefined || (typeof fields.desc === 'string' && fields.desc.length <= 256))
    );
  }
  return fields.firmware_ver === running.version;
}

/** Messages of every kind, none of which may change the running upgrade. */
export function fuzzMessage(running: RunningUpgrade, product: string, devices: readonly string[]): fc.Arbitrary<FuzzMessage> {
  return fc
    .tuple(topicChoice(running, product, devices), payloadChoice(running))
    .filter(([topic, payload]) => !changesRunningUpgrade(topic, payload.payload, running))
    .map(([topic, payload]) => ({ label: `${topic.label}: ${payload.label}`, topic: topic.topic, payload: payload.payload, matchesBridge: topic.matchesBridge }));
}

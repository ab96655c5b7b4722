import fc from 'fast-check';
import { TEST_UPGRADE_DEFAULTS } from '../../support/engine-harness';
import { RawNumber, REMOVED } from './json-text';
import { schemaMutation, type Mutation } from './body-mutations';

// Valid and invalid values of each request field, written from the rules in README.md ("HTTP API")
// and docs/campaigns.md rather than from the API's schemas, so that the tests check the schemas.

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const LETTERS = `${LOWER}${LOWER.toUpperCase()}`;
const DIGITS = '0123456789';
const HEX = '0123456789abcdefABCDEF';
export const NAME_ALPHABET = `${LETTERS}${DIGITS}_.-`;
const NAME_ALPHABET_WITHOUT_DOT = `${LETTERS}${DIGITS}_-`;

/** Characters outside the name alphabet: topic separators and wildcards, `$`, `:`, whitespace, control characters, unicode. */
export const BAD_NAME_CHARS = [' ', '/', '+', '#', '$', ':', '?', '%', '\\', '"', "'", '*', '@', '!', ',', ';', '=', '&', '~', '(', '\u0000', '\u0001', '\n', '\t', '\u007f', 'é', '中', '😀', '\u200b'];

export const FAILURE_REASONS = [
  'download_error',
  'md5_error',
  'install_error',
  'device_error',
  'stall_timeout',
  'attempt_timeout',
  'verify_timeout',
  'version_mismatch',
  'publish_failed',
] as const;

// Keys that JSON parsers treat specially; Fastify rejects bodies that carry them, so generated objects leave them out.
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function stringOf(alphabet: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
}

/** Inserts one of `chars` at a generated position of each generated string. */
export function withBadChar(strings: fc.Arbitrary<string>, chars: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(strings, fc.constantFrom(...chars), fc.nat()).map(([text, char, position]) => {
    const at = position % (text.length + 1);
    return `${text.slice(0, at)}${char}${text.slice(at)}`;
  });
}

/** Values of a type no field takes where a string, number or object is expected. */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }).filter((key) => !RESERVED_KEYS.has(key)), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** A key none of the given objects accepts. */
export function unknownKey(known: readonly string[]): fc.Arbitrary<string> {
  return fc
    .oneof(stringOf(LETTERS, 1, 12), fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }))
    .filter((key) => !known.includes(key) && !RESERVED_KEYS.has(key) && key.trim() !== '');
}

// --- Product and device names: 1 to 64 letters, digits, '_', '.' or '-', and not only dots.

export const validName: fc.Arbitrary<string> = stringOf(NAME_ALPHABET, 1, 64).filter((name) => !/^\.+$/.test(name));

/** A valid name that starts with `prefix`, so that workflow ids of this run do not meet those of other test files. */
export function prefixedName(prefix: string): fc.Arbitrary<string> {
  return stringOf(NAME_ALPHABET, 0, 64 - prefix.length).map((suffix) => `${prefix}${suffix}`);
}

/** Names the API must reject with 400 naming the field, as long as their path segment fits the router's 256 characters. */
export const invalidName: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.constantFrom('.', '..', '...'),
  stringOf(NAME_ALPHABET_WITHOUT_DOT, 65, 200),
  withBadChar(stringOf(NAME_ALPHABET, 0, 20), BAD_NAME_CHARS),
);

/** Names longer than the router's limit of 256 characters per path parameter. */
export const overlongName: fc.Arbitrary<string> = stringOf(NAME_ALPHABET_WITHOUT_DOT, 257, 600);

/** Encodes a name as one path segment: with encodeURIComponent, or every byte as %XX. */
export function encodeSegment(name: string, everyByte: boolean): string {
  if (!everyByte) return encodeURIComponent(name);
  return [...Buffer.from(name, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

// --- Firmware: type, url, version, size, md5.

const validType = stringOf(`${LETTERS}${DIGITS}_-`, 1, 32);
const validVersion = stringOf(`${LETTERS}${DIGITS}._+-`, 1, 64);
const validMd5 = stringOf(HEX, 32, 32);
const validUrl = fc.oneof(
  fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }).filter((url) => url.length <= 2048),
  fc.tuple(fc.constantFrom('HTTP', 'Https', 'http', 'https'), stringOf(`${LOWER}${DIGITS}`, 1, 20), stringOf(`${LETTERS}${DIGITS}/._-`, 0, 100)).map(
    ([scheme, host, path]) => `${scheme}://${host}.example/${path}`,
  ),
  fc.integer({ min: 0, max: 2048 - 'https://firmware.example/'.length }).map((length) => `https://firmware.example/${'a'.repeat(length)}`),
);
/** Whole numbers of bytes from 1 to 4 GiB, some written in exponent or decimal form. */
const validSize: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 1, max: 4 * 1024 ** 3 }),
  fc.constantFrom(1, 4 * 1024 ** 3, new RawNumber('1e3'), new RawNumber('1.0E3'), new RawNumber('4294967296.0'), new RawNumber('42.00')),
);

export const validFirmware = fc.record({ type: validType, url: validUrl, version: validVersion, size: validSize, md5: validMd5 });
export type FirmwareBody = Record<string, unknown>;
export const FIRMWARE_FIELDS = ['type', 'url', 'version', 'size', 'md5'] as const;

const invalidType = fc.oneof(
  fc.constant(''),
  stringOf(`${LETTERS}${DIGITS}`, 33, 60),
  withBadChar(validType, ['.', '+', ...BAD_NAME_CHARS]),
  wrongTypeValue,
);
const invalidVersion = fc.oneof(
  fc.constant(''),
  stringOf(`${LETTERS}${DIGITS}`, 65, 100),
  withBadChar(validVersion, BAD_NAME_CHARS.filter((char) => char !== '+')),
  wrongTypeValue,
);
const invalidUrl = fc.oneof(
  fc.tuple(fc.constantFrom('ftp', 'file', 'mqtt', 'ws', 'httpx', 'htp', 'javascript', 'data'), validUrl).map(([scheme, url]) => url.replace(/^[A-Za-z]+/, scheme)),
  fc.constantFrom('', 'firmware.example/1.1.pkg', '//firmware.example/1.1.pkg', '/1.1.pkg', 'http://', 'https://', 'http:', 'http://exa mple.com/', 'https://[::1', 'http://firmware.example:99999/'),
  fc.tuple(validUrl, fc.constantFrom('\u0000', ' ', '\t', '\u007f', 'é')).map(([url, char]) => `${url}${char}x`),
  fc.integer({ min: 2049 - 'http://firmware.example/'.length, max: 6_000 }).map((length) => `http://firmware.example/${'a'.repeat(length)}`),
  wrongTypeValue,
);
const invalidSize: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, new RawNumber('-0'), 1e308, -1e308, new RawNumber('1e400'), new RawNumber('-1e400'), 4 * 1024 ** 3 + 1, Number.MAX_SAFE_INTEGER),
  fc.integer({ max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((size) => !(Number.isInteger(size) && size >= 1 && size <= 4 * 1024 ** 3)),
  fc.integer({ min: 4 * 1024 ** 3 + 1, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom('1000', 'NaN', 'Infinity', '-Infinity', '-0', '1e3', '', ' 1000', '0x10'),
  wrongTypeValue.filter((value) => typeof value !== 'number'),
);
const invalidMd5 = fc.oneof(
  fc.oneof(stringOf(HEX, 0, 31), stringOf(HEX, 33, 64)),
  withBadChar(stringOf(HEX, 31, 31), ['g', 'G', 'z', ' ', '-', 'é', '\u0000']),
  wrongTypeValue,
);

/** Invalid values of each firmware field; keys are the field names. */
export const invalidFirmwareValues: Record<(typeof FIRMWARE_FIELDS)[number], fc.Arbitrary<unknown>> = {
  type: invalidType,
  url: invalidUrl,
  version: invalidVersion,
  size: invalidSize,
  md5: invalidMd5,
};

/** Mutations of a firmware object at `prefix` (empty at the top level of POST /ota, ['firmware'] in a campaign). */
export function firmwareMutation(prefix: readonly string[]): fc.Arbitrary<Mutation> {
  const name = (field: string) => [...prefix, field].join('.');
  return fc.oneof(
    fc.constantFrom(...FIRMWARE_FIELDS).chain((field) => invalidFirmwareValues[field].map((value) => schemaMutation(name(field), [...prefix, field], value))),
    fc.constantFrom(...FIRMWARE_FIELDS).map((field) => schemaMutation(name(field), [...prefix, field], REMOVED)),
  );
}

// --- Upgrade options: `options` of POST /ota and `upgrade` of a campaign.

const MAX_DURATION_MS = 7 * 24 * 3_600_000;
const MAX_BACKOFF_MS = 24 * 3_600_000;
const DURATION_OPTIONS = ['stallTimeoutMs', 'verifyTimeoutMs', 'attemptTimeoutMs', 'commandTtlMs'] as const;
export const OPTION_FIELDS = [...DURATION_OPTIONS, 'maxAttempts', 'initialBackoffMs', 'backoffCoefficient', 'maxBackoffMs', 'retryableReasons'];

const validDuration = fc.integer({ min: 100, max: MAX_DURATION_MS });
const validBackoff = fc.integer({ min: 0, max: MAX_BACKOFF_MS });

/** Valid options; maxBackoffMs is raised to the initial backoff (given or default) when below it. */
export const validOptions: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      stallTimeoutMs: validDuration,
      verifyTimeoutMs: validDuration,
      attemptTimeoutMs: validDuration,
      commandTtlMs: validDuration,
      maxAttempts: fc.integer({ min: 1, max: 20 }),
      initialBackoffMs: validBackoff,
      backoffCoefficient: fc.double({ min: 1, max: 10, noNaN: true }),
      maxBackoffMs: validBackoff,
      retryableReasons: fc.array(fc.constantFrom(...FAILURE_REASONS), { maxLength: 20 }),
    },
    { requiredKeys: [] },
  )
  .map((options) => {
    const initial = options.initialBackoffMs ?? TEST_UPGRADE_DEFAULTS.initialBackoffMs;
    if (options.maxBackoffMs !== undefined && options.maxBackoffMs < initial) return { ...options, maxBackoffMs: initial };
    return options;
  });

const invalidDuration = fc.oneof(
  fc.integer({ max: 99 }),
  fc.integer({ min: MAX_DURATION_MS + 1 }),
  fc.double({ min: 100, max: MAX_DURATION_MS, noNaN: true }).filter((value) => !Number.isInteger(value)),
  fc.constantFrom(1e308, '1000', null, true, new RawNumber('1e400')),
);
const invalidOptionValues: Record<string, fc.Arbitrary<unknown>> = {
  ...Object.fromEntries(DURATION_OPTIONS.map((field) => [field, invalidDuration])),
  maxAttempts: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 21 }), fc.constantFrom(1.5, '3', null, 1e308)),
  initialBackoffMs: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: MAX_BACKOFF_MS + 1 }), fc.constantFrom(0.5, '10', null)),
  backoffCoefficient: fc.oneof(
    fc.double({ max: 1, maxExcluded: true, noNaN: true, noDefaultInfinity: true }),
    fc.double({ min: 10, minExcluded: true, noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom('2', null, new RawNumber('1e400')),
  ),
  maxBackoffMs: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: MAX_BACKOFF_MS + 1 }), fc.constantFrom(2.5, '10', null)),
  retryableReasons: fc.oneof(
    fc.array(fc.string().filter((reason) => !(FAILURE_REASONS as readonly string[]).includes(reason)), { minLength: 1, maxLength: 3 }),
    fc.array(fc.constantFrom(...FAILURE_REASONS), { minLength: 21, maxLength: 30 }),
    fc.constantFrom('download_error', 1, null, [1], {}),
  ),
};

/** Mutations of the options object at `prefix` (['options'] or ['upgrade']). */
export function optionsMutation(prefix: string): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...OPTION_FIELDS).chain((field) => invalidOptionValues[field]!.map((value) => schemaMutation(`${prefix}.${field}`, [prefix, field], value))) },
    { weight: 1, arbitrary: unknownKey(OPTION_FIELDS).chain((key) => fc.jsonValue().map((value) => schemaMutation(`${prefix}.${key}`, [prefix, key], value))) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })).map((value) => schemaMutation(prefix, [prefix], value)) },
    {
      weight: 1,
      // The maximum backoff below the initial one passes the schema and fails the policy check.
      arbitrary: fc.integer({ min: 1, max: MAX_BACKOFF_MS }).chain((initial) =>
        fc.integer({ min: 0, max: initial - 1 }).map(
          (maximum): Mutation => ({
            field: `${prefix}.maxBackoffMs`,
            changes: [
              { path: [prefix, 'initialBackoffMs'], value: initial },
              { path: [prefix, 'maxBackoffMs'], value: maximum },
            ],
            stage: 'policy',
          }),
        ),
      ),
    },
  );
}

// --- Campaigns: id, target, rollout, startAt, tuning.

export const validCampaignIdSuffix = stringOf(NAME_ALPHABET, 0, 40);
/** Invalid campaign ids. */
export const invalidCampaignId: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 64 }).map((length) => '.'.repeat(length)),
  stringOf(NAME_ALPHABET_WITHOUT_DOT, 65, 120),
  withBadChar(stringOf(NAME_ALPHABET, 1, 20), BAD_NAME_CHARS),
  wrongTypeValue,
);

const statusField = fc.tuple(stringOf(`${LETTERS}_`, 1, 1), stringOf(`${LETTERS}${DIGITS}_-`, 0, 63)).map(([first, rest]) => `${first}${rest}`);
// Strings of any code points, NUL and lone surrogates included, up to 256 UTF-16 code units.
const statusString = fc.string({ maxLength: 256, unit: 'binary' }).filter((text) => text.length <= 256);
const statusValue: fc.Arbitrary<unknown> = fc.oneof(statusString, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null));
const condition = fc.oneof(
  fc.record({ field: statusField, op: fc.constantFrom('eq', 'ne'), value: statusValue }),
  fc.record({ field: statusField, op: fc.constantFrom('in', 'nin'), value: fc.array(statusValue, { minLength: 1, maxLength: 100 }) }),
);

export const validTarget: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'all' }) },
  { weight: 3, arbitrary: fc.uniqueArray(validName, { minLength: 1, maxLength: 30 }).map((deviceNames) => ({ kind: 'devices', deviceNames })) },
  { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 10_000 }).map((count) => ({ kind: 'devices', deviceNames: Array.from({ length: count }, (_, index) => `device-${index}`) })) },
  { weight: 3, arbitrary: fc.array(condition, { minLength: 1, maxLength: 10 }).map((where) => ({ kind: 'filter', where })) },
);

export const invalidTarget: fc.Arbitrary<unknown> = fc.oneof(
  fc.string().filter((kind) => !['all', 'devices', 'filter'].includes(kind)).map((kind) => ({ kind })),
  fc.constantFrom({}, 'all', null, 5, [], { kind: 'all', deviceNames: ['a'] }, { kind: 'devices' }, { kind: 'devices', deviceNames: [] }, { kind: 'devices', deviceNames: 'a' }),
  fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 2, maxLength: 6 }).filter((names) => new Set(names).size < names.length).map((deviceNames) => ({ kind: 'devices', deviceNames })),
  fc.tuple(fc.uniqueArray(validName, { maxLength: 5 }), invalidName).map(([names, bad]) => ({ kind: 'devices', deviceNames: [...names, bad] })),
  fc.integer({ min: 10_001, max: 10_050 }).map((count) => ({ kind: 'devices', deviceNames: Array.from({ length: count }, (_, index) => `d${index}`) })),
  fc.constantFrom({ kind: 'filter' }, { kind: 'filter', where: [] }, { kind: 'filter', where: {} }),
  fc.array(condition, { minLength: 11, maxLength: 14 }).map((where) => ({ kind: 'filter', where })),
  fc
    .oneof(
      fc.oneof(fc.constantFrom('', '1abc', '$set', 'a.b', 'é', 'a b'), stringOf(LETTERS, 65, 70)).map((field) => ({ field, op: 'eq', value: 1 })),
      fc.string().filter((op) => !['eq', 'ne', 'in', 'nin'].includes(op)).map((op) => ({ field: 'firmware_ver', op, value: '1.0' })),
      fc.constantFrom('in', 'nin').map((op) => ({ field: 'firmware_ver', op, value: '1.0' })),
      fc.constantFrom('in', 'nin').map((op) => ({ field: 'firmware_ver', op, value: [] })),
      fc.array(fc.integer(), { minLength: 101, maxLength: 110 }).map((value) => ({ field: 'firmware_ver', op: 'in', value })),
      fc.constantFrom({ a: 1 }, [1], 'x'.repeat(257)).map((value) => ({ field: 'firmware_ver', op: 'eq', value })),
      fc.constant({ field: 'firmware_ver', op: 'eq', value: '1', extra: true }),
    )
    .map((bad) => ({ kind: 'filter', where: [{ field: 'firmware_ver', op: 'ne', value: '1.1' }, bad] })),
);

const percent = fc.double({ min: 0, max: 100, noNaN: true });
const positivePercent = fc.double({ min: 0, max: 100, minExcluded: true, noNaN: true });
export const validRollout: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    maxConcurrent: fc.integer({ min: 1, max: 10_000 }),
    maxStartsPerMinute: fc.integer({ min: 1, max: 1_000_000 }),
    firstWave: fc.oneof(
      fc.record({ count: fc.integer({ min: 1 }), minSuccessPercent: percent }),
      fc.record({ percent: positivePercent, minSuccessPercent: percent }),
    ),
    abort: fc.record({ failurePercent: positivePercent, minFinished: fc.integer({ min: 1 }) }),
  },
  { requiredKeys: [] },
);

export const rolloutMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.oneof(fc.constantFrom(0, 10_001, 1.5, '5', null, -1, 1e308)).map((value) => schemaMutation('rollout.maxConcurrent', ['rollout', 'maxConcurrent'], value)),
  fc.oneof(fc.constantFrom(0, 1_000_001, 2.5, '60', null)).map((value) => schemaMutation('rollout.maxStartsPerMinute', ['rollout', 'maxStartsPerMinute'], value)),
  fc
    .constantFrom(
      { count: 1, percent: 5, minSuccessPercent: 50 },
      { minSuccessPercent: 50 },
      { count: 0, minSuccessPercent: 50 },
      { count: 1.5, minSuccessPercent: 50 },
      { percent: 0, minSuccessPercent: 50 },
      { percent: 100.5, minSuccessPercent: 50 },
      { percent: 5, minSuccessPercent: -1 },
      { percent: 5, minSuccessPercent: 101 },
      { percent: 5 },
      { percent: 5, minSuccessPercent: 50, size: 3 },
      'first',
    )
    .map((value) => schemaMutation('rollout.firstWave', ['rollout', 'firstWave'], value)),
  fc
    .constantFrom({ failurePercent: 0, minFinished: 5 }, { failurePercent: 101, minFinished: 5 }, { failurePercent: 10, minFinished: 0 }, { failurePercent: 10 }, { minFinished: 3 }, { failurePercent: 10, minFinished: 2.5 }, [])
    .map((value) => schemaMutation('rollout.abort', ['rollout', 'abort'], value)),
  unknownKey(['maxConcurrent', 'maxStartsPerMinute', 'firstWave', 'abort']).map((key) => schemaMutation(`rollout.${key}`, ['rollout', key], 1)),
  fc.constantFrom('fast', 5, null, []).map((value) => schemaMutation('rollout', ['rollout'], value)),
);

const TUNING_RANGES: Record<string, [number, number]> = {
  pageSize: [1, 1_000],
  maxRunEvents: [100, 40_000],
  maxRunSignals: [10, 9_000],
  outcomeFlushSize: [1, 1_000],
  outcomeFlushIntervalMs: [100, 600_000],
  reconcileIntervalMs: [1_000, 24 * 3_600_000],
};

export const validTuning: fc.Arbitrary<Record<string, unknown>> = fc.record(
  Object.fromEntries(Object.entries(TUNING_RANGES).map(([field, [min, max]]) => [field, fc.integer({ min, max })])),
  { requiredKeys: [] },
);

export const tuningMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...Object.keys(TUNING_RANGES)).chain((field) => {
    const [min, max] = TUNING_RANGES[field]!;
    return fc.constantFrom(min - 1, max + 1, min + 0.5, String(min), null).map((value) => schemaMutation(`tuning.${field}`, ['tuning', field], value));
  }),
  unknownKey(Object.keys(TUNING_RANGES)).map((key) => schemaMutation(`tuning.${key}`, ['tuning', key], 1)),
);

/** Formats an instant as ISO 8601 with the given offset in minutes (Z for 0 when `zulu`) and fraction digits. */
export function isoDateTime(instantMs: number, offsetMinutes: number, fractionDigits: number, zulu: boolean): string {
  const local = new Date(instantMs + offsetMinutes * 60_000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const fraction = fractionDigits === 0 ? '' : `.${pad(local.getUTCMilliseconds(), 3).padEnd(fractionDigits, '0').slice(0, fractionDigits)}`;
  if (zulu && offsetMinutes === 0) return `${date}T${time}${fraction}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const absolute = Math.abs(offsetMinutes);
  return `${date}T${time}${fraction}${sign}${pad(Math.floor(absolute / 60))}:${pad(absolute % 60)}`;
}

function dateTimeBetween(fromYear: number, toYear: number): fc.Arbitrary<string> {
  return fc
    .record({
      instant: fc.integer({ min: Date.UTC(fromYear, 0, 2), max: Date.UTC(toYear, 11, 30) }),
      offset: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
      fraction: fc.integer({ min: 0, max: 9 }),
      zulu: fc.boolean(),
    })
    .map(({ instant, offset, fraction, zulu }) => isoDateTime(instant, offset, fraction, zulu));
}

/** Start times far enough ahead that a campaign stays scheduled for the whole test run. */
export const futureStartAt = dateTimeBetween(2090, 9998);
/** Any valid start time; those in the past start the campaign at once. */
export const anyStartAt = dateTimeBetween(1971, 9998);
export const invalidStartAt: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    'tomorrow',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-01-01',
    '2026-01-01T00:00:00',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01 00:00:00Z',
    '',
    0,
    null,
  ),
  fc.string().filter((text) => !/^\d{4}-\d\d-\d\dT/.test(text)),
);

// --- Form fields: every value is a string, and the API reads a `size` of 1 to 15 digits as a number.

const isString = (value: unknown): value is string => typeof value === 'string';

/** Valid firmware as form fields; sizes may carry leading zeros, which stay within 15 digits. */
export const validFormFirmware = fc.record({
  type: validType,
  url: validUrl,
  version: validVersion,
  size: fc.tuple(fc.integer({ min: 1, max: 4 * 1024 ** 3 }), fc.nat({ max: 5 })).map(([size, zeros]) => `${'0'.repeat(zeros)}${size}`),
  md5: validMd5,
});

/** Invalid form values of each firmware field. */
export const invalidFormValues: Record<(typeof FIRMWARE_FIELDS)[number], fc.Arbitrary<string>> = {
  type: invalidType.filter(isString),
  url: invalidUrl.filter(isString),
  version: invalidVersion.filter(isString),
  size: fc.constantFrom('0', '000', '-5', '1.5', '1e3', '', ' 12', '12 ', '0x10', '4294967297', '1000000000000000', '99999999999999999999', 'NaN', 'Infinity', 'abc'),
  md5: invalidMd5.filter(isString),
};

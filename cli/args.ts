import { parseArgs } from 'node:util';
import { listCampaignsQuerySchema, listDevicesQuerySchema } from '../api/campaign-request';
import { deviceNameSchema, otaUpgradePayloadSchema, productNameSchema, type OtaUpgradePayload } from '../protocol';
import { BEARER_TOKEN_PATTERN } from '../api/auth/api-token';
import { campaignIdSchema } from '../workflows/campaign-input';
import type { DeviceOutcome } from '../workflows/campaign-types';
import { DEFAULT_TIMEOUT_MS } from './api-client';
import { resolveApiUrl } from './api-url';
import { UsageError } from './errors';

export type HelpTopic = 'main' | 'campaign' | 'upgrade';
export type CampaignAction = 'pause' | 'resume' | 'cancel' | 'retry-failed';

/** One command of the command line, with its arguments validated. */
export type Command =
  | { kind: 'help'; topic: HelpTopic }
  | { kind: 'campaign-start'; file: string }
  | { kind: 'campaign-list'; limit: number | undefined; before: string | undefined }
  | { kind: 'campaign-show'; id: string }
  | { kind: 'campaign-control'; action: CampaignAction; id: string }
  | { kind: 'campaign-devices'; id: string; outcome: DeviceOutcome | undefined; limit: number | undefined; after: string | undefined }
  | { kind: 'campaign-watch'; id: string; intervalMs: number }
  | { kind: 'upgrade-start'; productName: string; deviceName: string; firmware: OtaUpgradePayload }
  | { kind: 'upgrade-show'; productName: string; deviceName: string };

/** Options every command that calls the API takes. */
export interface GlobalOptions {
  apiUrl: string;
  /** Bearer token sent with every request, from --token or OTA_API_TOKEN; undefined sends none. */
  token: string | undefined;
  timeoutMs: number;
  /** Print the API's response as JSON instead of a readable form. */
  json: boolean;
}

export type CommandLine = { command: Extract<Command, { kind: 'help' }> } | { command: Exclude<Command, { kind: 'help' }>; options: GlobalOptions };

/** Default time between two reads of `campaign watch`, in milliseconds. */
export const DEFAULT_WATCH_INTERVAL_MS = 1_000;
export const MIN_WATCH_INTERVAL_MS = 100;
export const MAX_WATCH_INTERVAL_MS = 3_600_000;
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 600_000;

// Page limits come from the API's own query schemas, so the CLI rejects what the API would reject.
const campaignListLimit = listCampaignsQuerySchema.shape.limit.unwrap();
const deviceListLimit = listDevicesQuerySchema.shape.limit.unwrap();
export const CAMPAIGN_LIST_LIMIT = { min: campaignListLimit.minValue ?? 1, max: campaignListLimit.maxValue ?? 100 };
export const DEVICE_LIST_LIMIT = { min: deviceListLimit.minValue ?? 1, max: deviceListLimit.maxValue ?? 1_000 };
export const DEVICE_OUTCOMES: readonly DeviceOutcome[] = listDevicesQuerySchema.shape.outcome.unwrap().options;

// Every option of every command, so that a single parse can tell which options take a value.
const OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  'timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  limit: { type: 'string' },
  before: { type: 'string' },
  after: { type: 'string' },
  outcome: { type: 'string' },
  'interval-ms': { type: 'string' },
  version: { type: 'string' },
  url: { type: 'string' },
  size: { type: 'string' },
  md5: { type: 'string' },
  type: { type: 'string' },
} as const;
type OptionName = keyof typeof OPTIONS;

const CAMPAIGN_HELP = 'ota campaign --help';
const UPGRADE_HELP = 'ota upgrade --help';

// Options that every command accepts; --json is left out because `watch` has no JSON output.
const GLOBAL_OPTIONS: readonly OptionName[] = ['api', 'token', 'timeout-ms', 'help'];

interface CommandSpec {
  arguments: readonly string[];
  options: readonly OptionName[];
}

const COMMANDS: Record<'campaign' | 'upgrade', Record<string, CommandSpec>> = {
  campaign: {
    start: { arguments: ['FILE'], options: ['json'] },
    list: { arguments: [], options: ['json', 'limit', 'before'] },
    show: { arguments: ['ID'], options: ['json'] },
    pause: { arguments: ['ID'], options: ['json'] },
    resume: { arguments: ['ID'], options: ['json'] },
    cancel: { arguments: ['ID'], options: ['json'] },
    'retry-failed': { arguments: ['ID'], options: ['json'] },
    devices: { arguments: ['ID'], options: ['json', 'outcome', 'limit', 'after'] },
    watch: { arguments: ['ID'], options: ['interval-ms'] },
  },
  upgrade: {
    start: { arguments: ['PRODUCT', 'DEVICE'], options: ['json', 'version', 'url', 'size', 'md5', 'type'] },
    show: { arguments: ['PRODUCT', 'DEVICE'], options: ['json'] },
  },
};

/**
 * Parses the arguments after `ota`. Options may come before or after the command words. Throws
 * UsageError naming the unknown command or option, the missing argument or the invalid value.
 */
export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined>): CommandLine {
  const { values, positionals, tokens } = parseTokens(argv);
  const [group, name, ...rest] = positionals;

  if (group === 'help') return { command: { kind: 'help', topic: helpTopic(name) } };
  if (values.help) return { command: { kind: 'help', topic: group === 'campaign' || group === 'upgrade' ? group : 'main' } };
  if (group === undefined) throw new UsageError('missing command: expected campaign or upgrade');
  if (group !== 'campaign' && group !== 'upgrade') throw new UsageError(`unknown command '${group}': expected campaign or upgrade`);

  const helpCommand = `ota ${group} --help`;
  const commands = COMMANDS[group];
  if (name === undefined) throw new UsageError(`missing ${group} command: expected one of ${Object.keys(commands).join(', ')}`, helpCommand);
  const spec = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (spec === undefined) {
    throw new UsageError(`unknown ${group} command '${name}': expected one of ${Object.keys(commands).join(', ')}`, helpCommand);
  }

  const usage = `ota ${group} ${name}`;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = token.name as OptionName;
    if (!GLOBAL_OPTIONS.includes(option) && !spec.options.includes(option)) {
      throw new UsageError(`unknown option --${option} for '${usage}'`, helpCommand);
    }
  }
  if (rest.length < spec.arguments.length) {
    throw new UsageError(`missing argument ${spec.arguments[rest.length]}: usage is '${usage} ${spec.arguments.join(' ')}'`, helpCommand);
  }
  if (rest.length > spec.arguments.length) throw new UsageError(`unexpected argument '${rest[spec.arguments.length]}' for '${usage}'`, helpCommand);

  const options: GlobalOptions = {
    apiUrl: resolveApiUrl(values.api, env),
    token: resolveToken(values.token, env),
    timeoutMs: parseWholeNumber('--timeout-ms', values['timeout-ms'], MIN_TIMEOUT_MS, MAX_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS,
    json: values.json ?? false,
  };
  const command = group === 'campaign' ? campaignCommand(name, rest, values) : upgradeCommand(name, rest, values);
  return { command, options };
}

type ParsedValues = Partial<Record<OptionName, string | boolean>> & {
  api?: string;
  token?: string;
  'timeout-ms'?: string;
  json?: boolean;
  help?: boolean;
};

function parseTokens(argv: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }));
  }
  // parseArgs keeps the last of repeated options silently; a repeated option is more likely a mistake.
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(`option --${token.name} is given more than once`);
    seen.add(token.name);
  }
  return { values: parsed.values as ParsedValues, positionals: parsed.positionals, tokens: parsed.tokens };
}

/**
 * Resolves the bearer token from --token, then OTA_API_TOKEN. An empty OTA_API_TOKEN counts as unset, as
 * other settings do. The errors never contain the token, because they are printed.
 */
function resolveToken(option: string | undefined, env: Record<string, string | undefined>): string | undefined {
  const [token, source] = option !== undefined ? [option, '--token'] : [env.OTA_API_TOKEN || undefined, 'OTA_API_TOKEN'];
  if (token === undefined) return undefined;
  if (!BEARER_TOKEN_PATTERN.test(token)) {
    throw new UsageError(`invalid token from ${source}: a bearer token is letters, digits and -._~+/ characters, then '=' padding only (empty, spaces or quotes are not allowed)`);
  }
  return token;
}

function describeParseError(error: Error & { code?: string }): string {
  const quoted = /'(-[^' ]*)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (error.message.includes('argument missing')) return `missing value for ${quoted}`;
      if (error.message.includes('does not take an argument')) return `option ${quoted} takes no value`;
      if (error.message.includes('ambiguous')) return `value of ${quoted} starts with '-': write it as ${quoted}=VALUE`;
      return `invalid option: ${error.message.split('\n')[0]}`;
    default:
      return `invalid command line: ${error.message.split('\n')[0]}`;
  }
}

function helpTopic(word: string | undefined): HelpTopic {
  if (word === undefined) return 'main';
  if (word === 'campaign' || word === 'upgrade') return word;
  throw new UsageError(`no help for '${word}': expected campaign or upgrade`);
}

function campaignCommand(name: string, args: string[], values: ParsedValues): Exclude<Command, { kind: 'help' }> {
  if (name === 'start') return { kind: 'campaign-start', file: args[0]! };
  if (name === 'list') {
    return {
      kind: 'campaign-list',
      limit: parseWholeNumber('--limit', stringOption(values, 'limit'), CAMPAIGN_LIST_LIMIT.min, CAMPAIGN_LIST_LIMIT.max, CAMPAIGN_HELP),
      before: nonEmpty('--before', stringOption(values, 'before')),
    };
  }

  const id = parseCampaignId(args[0]!);
  switch (name) {
    case 'show':
      return { kind: 'campaign-show', id };
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'retry-failed':
      return { kind: 'campaign-control', action: name, id };
    case 'devices':
      return {
        kind: 'campaign-devices',
        id,
        outcome: parseOutcome(stringOption(values, 'outcome')),
        limit: parseWholeNumber('--limit', stringOption(values, 'limit'), DEVICE_LIST_LIMIT.min, DEVICE_LIST_LIMIT.max, CAMPAIGN_HELP),
        after: nonEmpty('--after', stringOption(values, 'after')),
      };
    case 'watch':
      return {
        kind: 'campaign-watch',
        id,
        intervalMs:
          parseWholeNumber('--interval-ms', stringOption(values, 'interval-ms'), MIN_WATCH_INTERVAL_MS, MAX_WATCH_INTERVAL_MS, CAMPAIGN_HELP) ??
          DEFAULT_WATCH_INTERVAL_MS,
      };
    default:
      // COMMANDS lists only the names handled above, so this is a programming error.
      throw new Error(`campaign command '${name}' has no parser`);
  }
}

function upgradeCommand(name: string, args: string[], values: ParsedValues): Exclude<Command, { kind: 'help' }> {
  const productName = parseName(productNameSchema, 'PRODUCT', args[0]!);
  const deviceName = parseName(deviceNameSchema, 'DEVICE', args[1]!);
  if (name === 'show') return { kind: 'upgrade-show', productName, deviceName };
  return { kind: 'upgrade-start', productName, deviceName, firmware: parseFirmwareOptions(values) };
}

/** Builds the firmware payload from --type, --url, --version, --size and --md5, validated as the API does. */
function parseFirmwareOptions(values: ParsedValues): OtaUpgradePayload {
  const usage = 'ota upgrade start PRODUCT DEVICE --version V --url U --size N --md5 M';
  for (const option of ['version', 'url', 'size', 'md5'] as const) {
    if (stringOption(values, option) === undefined) throw new UsageError(`missing option --${option}: usage is '${usage}'`, UPGRADE_HELP);
  }
  const sizeText = stringOption(values, 'size')!;
  const payload = {
    type: stringOption(values, 'type') ?? 'firmware',
    url: stringOption(values, 'url'),
    version: stringOption(values, 'version'),
    // Digits only: Number() would also take '1e3', ' 12' or '0x10'.
    size: /^\d{1,16}$/.test(sizeText) ? Number(sizeText) : Number.NaN,
    md5: stringOption(values, 'md5'),
  };
  const parsed = otaUpgradePayloadSchema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = String(issue.path[0] ?? 'type') as keyof typeof payload;
  const invalidValue = field === 'size' ? sizeText : String(payload[field]);
  throw new UsageError(`invalid --${field} '${invalidValue}': ${issue.message}`, UPGRADE_HELP);
}

function parseCampaignId(text: string): string {
  const parsed = campaignIdSchema.safeParse(text);
  if (!parsed.success) throw new UsageError(`invalid campaign ID '${text}': ${parsed.error.issues[0]!.message}`, CAMPAIGN_HELP);
  return parsed.data;
}

function parseName(schema: typeof productNameSchema, label: string, text: string): string {
  const parsed = schema.safeParse(text);
  if (!parsed.success) throw new UsageError(`invalid ${label} '${text}': ${parsed.error.issues[0]!.message}`, UPGRADE_HELP);
  return parsed.data;
}

function parseOutcome(text: string | undefined): DeviceOutcome | undefined {
  if (text === undefined) return undefined;
  const outcome = DEVICE_OUTCOMES.find((candidate) => candidate === text);
  if (outcome === undefined) throw new UsageError(`invalid --outcome '${text}': expected one of ${DEVICE_OUTCOMES.join(', ')}`, CAMPAIGN_HELP);
  return outcome;
}

/** Parses a whole number of at least `min` and at most `max`; returns undefined when the option is absent. */
export function parseWholeNumber(option: string, text: string | undefined, min: number, max: number, helpCommand = 'ota --help'): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`invalid ${option} '${text}': expected a whole number from ${min} to ${max}`, helpCommand);
  }
  return value;
}

function nonEmpty(option: string, text: string | undefined): string | undefined {
  if (text === '') throw new UsageError(`invalid ${option} '': expected a value such as the 'next' of the previous page`);
  return text;
}

function stringOption(values: ParsedValues, name: OptionName): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

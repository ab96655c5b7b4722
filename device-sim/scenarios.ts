import { z } from 'zod';
import { firmwareVersionSchema } from '../protocol';

const percentSchema = z.number().int().min(0).max(100);

/**
 * Behaviour of a simulated device for one `$ota_upgrade` command. Percentages refer to the progress
 * steps of the device's timings: a device stalled at 50 with steps of 20 reports 0, 20, 40, 50.
 */
export const scenarioSchema = z.discriminatedUnion('kind', [
  /** Downloads to 100 and then reports the new firmware_ver. */
  z.strictObject({ kind: z.literal('success') }),
  /** Reports progress up to `atPercent` and then nothing more. */
  z.strictObject({ kind: z.literal('stall'), atPercent: percentSchema.default(40) }),
  /** Reports progress below `atPercent`, then -1 where `atPercent` would have come. */
  z.strictObject({ kind: z.literal('download_error'), atPercent: percentSchema.default(40) }),
  /** Downloads to 100, then reports -2 one step interval later. */
  z.strictObject({ kind: z.literal('md5_error') }),
  /** Downloads to 100, then reports -3 after the install delay. */
  z.strictObject({ kind: z.literal('install_error') }),
  /** Reports progress below `atPercent`, then -4. */
  z.strictObject({ kind: z.literal('other_error'), atPercent: percentSchema.default(0) }),
  /** Downloads to 100, then reports the firmware_ver it had before the command. */
  z.strictObject({ kind: z.literal('reboot_old_version') }),
  /** Like success, but publishes every report twice with the same messageId. */
  z.strictObject({ kind: z.literal('duplicates') }),
  /** Like success, but swaps each pair of progress reports: 20, 0, 60, 40, 100, 80. */
  z.strictObject({ kind: z.literal('out_of_order') }),
  /**
   * Like success, but follows each progress report with one for `staleVersion`, as a late report of
   * an earlier upgrade would. Without `staleVersion` the device's current firmware_ver is used.
   */
  z.strictObject({ kind: z.literal('stale_reports'), staleVersion: firmwareVersionSchema.optional() }),
  /** Accepts the command and never reports anything about it. */
  z.strictObject({ kind: z.literal('silent') }),
]);
export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioKind = Scenario['kind'];

export const SCENARIO_KINDS: readonly ScenarioKind[] = scenarioSchema.options.map((option) => option.shape.kind.value);

/**
 * Scenarios for successive commands: the first accepted `$ota_upgrade` runs the first entry, the
 * second runs the second, and the last entry repeats once the list is used up.
 */
export const scenarioSequenceSchema = z.union([
  scenarioSchema.transform((scenario) => [scenario]),
  z.array(scenarioSchema).min(1, { error: 'a scenario list must contain at least one scenario' }),
]);
export type ScenarioSequence = Scenario[];

/** Returns the scenario for the `attempt`-th accepted command (1-based) of a sequence. */
export function scenarioForAttempt(sequence: readonly Scenario[], attempt: number): Scenario {
  const scenario = sequence[Math.min(Math.max(attempt, 1), sequence.length) - 1];
  if (scenario === undefined) throw new Error('scenario sequence must not be empty');
  return scenario;
}

const PERCENT_KINDS: ReadonlySet<ScenarioKind> = new Set(['stall', 'download_error', 'other_error']);

/**
 * Parses one scenario written as text: `kind`, or `kind@argument` where the argument is the
 * percentage of `stall`, `download_error` and `other_error` or the stale version of `stale_reports`.
 * Examples: `success`, `stall@60`, `stale_reports@0.9`.
 */
export function parseScenarioText(text: string): Scenario {
  const [kindText = '', argument, ...rest] = text.trim().split('@');
  if (rest.length > 0) throw new Error(`invalid scenario '${text}': expected 'kind' or 'kind@argument'`);
  if (!(SCENARIO_KINDS as readonly string[]).includes(kindText)) {
    throw new Error(`unknown scenario '${kindText}' in '${text}': expected one of ${SCENARIO_KINDS.join(', ')}`);
  }

  const input: Record<string, unknown> = { kind: kindText };
  if (argument !== undefined) {
    if (PERCENT_KINDS.has(kindText as ScenarioKind)) input.atPercent = parsePercent(argument, text);
    else if (kindText === 'stale_reports') input.staleVersion = argument;
    else throw new Error(`invalid scenario '${text}': '${kindText}' takes no '@' argument`);
  }

  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid scenario '${text}': ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  return parsed.data;
}

/** Parses scenarios for successive attempts joined by '+', such as `download_error@40+success`. */
export function parseScenarioSequenceText(text: string): ScenarioSequence {
  const parts = text.split('+');
  if (parts.some((part) => part.trim() === '')) throw new Error(`invalid scenario list '${text}': empty entry`);
  return parts.map(parseScenarioText);
}

/** Formats a scenario in the text form that parseScenarioText reads. */
export function formatScenario(scenario: Scenario): string {
  switch (scenario.kind) {
    case 'stall':
    case 'download_error':
    case 'other_error':
      return `${scenario.kind}@${scenario.atPercent}`;
    case 'stale_reports':
      return scenario.staleVersion === undefined ? scenario.kind : `${scenario.kind}@${scenario.staleVersion}`;
    default:
      return scenario.kind;
  }
}

/** Formats a sequence as parseScenarioSequenceText reads it. */
export function formatScenarioSequence(sequence: readonly Scenario[]): string {
  return sequence.map(formatScenario).join('+');
}

function parsePercent(text: string, scenarioText: string): number {
  if (!/^\d{1,3}$/.test(text)) {
    throw new Error(`invalid scenario '${scenarioText}': '${text}' is not a whole percentage from 0 to 100`);
  }
  return Number(text);
}

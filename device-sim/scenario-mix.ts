import { z } from 'zod';
import { formatScenarioSequence, parseScenarioSequenceText, scenarioSequenceSchema, type ScenarioSequence } from './scenarios';

/**
 * Share of a fleet that runs each scenario sequence. Weights are relative, so 90/5/5 and 18/1/1
 * give the same split. A JSON file for `--mix-file` contains this shape:
 * `{"entries": [{"weight": 90, "scenarios": {"kind": "success"}}, {"weight": 10, "scenarios": [{"kind": "stall", "atPercent": 60}, {"kind": "success"}]}]}`.
 */
export const scenarioMixSchema = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        weight: z.number().positive({ error: 'weight must be greater than 0' }),
        scenarios: scenarioSequenceSchema,
      }),
    )
    .min(1, { error: 'a scenario mix must contain at least one entry' }),
});
export type ScenarioMix = z.infer<typeof scenarioMixSchema>;

/**
 * Parses the `--mix` text: comma-separated `scenarios=weight` entries, where scenarios is one
 * scenario or a '+'-joined list for successive attempts. Example: `success=90,download_error@40+success=5,stall@60=5`.
 */
export function parseScenarioMixText(text: string): ScenarioMix {
  const entries = text.split(',').map((entryText) => {
    const separator = entryText.lastIndexOf('=');
    if (separator < 0) throw new Error(`invalid mix entry '${entryText}': expected 'scenario=weight'`);
    const weightText = entryText.slice(separator + 1).trim();
    const weight = Number(weightText);
    if (weightText === '' || !Number.isFinite(weight) || weight <= 0) {
      throw new Error(`invalid mix entry '${entryText}': weight '${weightText}' must be a number greater than 0`);
    }
    return { weight, scenarios: parseScenarioSequenceText(entryText.slice(0, separator)) };
  });
  return { entries };
}

/** Parses a mix read from JSON, throwing an error that names each invalid field. */
export function parseScenarioMixJson(value: unknown, source: string): ScenarioMix {
  const parsed = scenarioMixSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid scenario mix in ${source}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Assigns a sequence to each of `count` devices so that every share is as close to its weight as
 * whole devices allow. Smooth weighted round-robin (the scheme nginx uses for upstream weights)
 * spreads each scenario over the fleet instead of giving it a block of neighbouring names, and the
 * result depends only on the mix and the count.
 */
export function assignScenarios(mix: ScenarioMix, count: number): ScenarioSequence[] {
  const totalWeight = mix.entries.reduce((sum, entry) => sum + entry.weight, 0);
  const credits = mix.entries.map(() => 0);
  const assigned: ScenarioSequence[] = [];

  for (let device = 0; device < count; device += 1) {
    let chosen = 0;
    mix.entries.forEach((entry, index) => {
      credits[index] = (credits[index] ?? 0) + entry.weight;
      if ((credits[index] ?? 0) > (credits[chosen] ?? 0)) chosen = index;
    });
    credits[chosen] = (credits[chosen] ?? 0) - totalWeight;
    assigned.push(mix.entries[chosen]!.scenarios);
  }
  return assigned;
}

/** Formats a mix as `--mix` text, for logs. */
export function formatScenarioMix(mix: ScenarioMix): string {
  return mix.entries.map((entry) => `${formatScenarioSequence(entry.scenarios)}=${entry.weight}`).join(',');
}

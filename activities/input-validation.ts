import type { z } from 'zod';
import { campaignInputSchema, type CampaignInput } from '../workflows/campaign-input';
import { upgradeInputSchema, type UpgradeInput } from '../workflows/upgrade-input';

/** The checked input, or every problem found in it, named by field. */
export type InputCheck<T> = { valid: true; input: T } | { valid: false; problems: string };

/**
 * Validates workflow inputs with their zod schemas. The workflows call these as local activities, so
 * zod stays out of the workflow bundle, which the worker evaluates again for every workflow it creates.
 */
export function createInputValidationActivities() {
  return {
    async validateUpgradeInput(raw: unknown): Promise<InputCheck<UpgradeInput>> {
      return check(upgradeInputSchema, raw);
    },
    async validateCampaignInput(raw: unknown): Promise<InputCheck<CampaignInput>> {
      return check(campaignInputSchema, raw);
    },
  };
}

function check<T>(schema: z.ZodType<T>, raw: unknown): InputCheck<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { valid: true, input: parsed.data };
  return { valid: false, problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') };
}

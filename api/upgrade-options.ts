import { z } from 'zod';
import type { UpgradeDefaults } from '../config/settings';
import type { DeviceRef, OtaUpgradePayload } from '../protocol';
import {
  DEFAULT_RETRYABLE_REASONS,
  failureReasonSchema,
  retryPolicySchema,
  upgradeTimeoutsSchema,
  type RetryPolicy,
  type UpgradeInput,
  type UpgradeTimeouts,
} from '../workflows/upgrade-input';
import type { FieldProblem } from './validation';

const durationMs = z.number().int().min(100).max(7 * 24 * 3_600_000);

/** Per-request overrides of the configured upgrade defaults; every field is optional. */
export const upgradeOptionsSchema = z.strictObject({
  stallTimeoutMs: durationMs.optional(),
  verifyTimeoutMs: durationMs.optional(),
  attemptTimeoutMs: durationMs.optional(),
  commandTtlMs: durationMs.optional(),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  initialBackoffMs: z.number().int().min(0).max(24 * 3_600_000).optional(),
  backoffCoefficient: z.number().min(1).max(10).optional(),
  maxBackoffMs: z.number().int().min(0).max(24 * 3_600_000).optional(),
  retryableReasons: z.array(failureReasonSchema).max(20).optional(),
}).refine(
  // Checked here for a request that sets both, so that the CLI, which validates files with this schema,
  // rejects such a file before it sends it. policyProblems checks the values after defaults.
  (options) => options.initialBackoffMs === undefined || options.maxBackoffMs === undefined || options.maxBackoffMs >= options.initialBackoffMs,
  { error: 'maxBackoffMs must be at least initialBackoffMs', path: ['maxBackoffMs'] },
);
export type UpgradeOptions = z.infer<typeof upgradeOptionsSchema>;

/** Fills the options a request left out from the configured defaults. */
export function resolveUpgradePolicy(options: UpgradeOptions, defaults: UpgradeDefaults): { timeouts: UpgradeTimeouts; retry: RetryPolicy } {
  const initialBackoffMs = options.initialBackoffMs ?? defaults.initialBackoffMs;
  return {
    timeouts: {
      stallMs: options.stallTimeoutMs ?? defaults.stallTimeoutMs,
      verifyMs: options.verifyTimeoutMs ?? defaults.verifyTimeoutMs,
      attemptMs: options.attemptTimeoutMs ?? defaults.attemptTimeoutMs,
      commandTtlMs: options.commandTtlMs ?? defaults.commandTtlMs,
    },
    retry: {
      maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
      initialBackoffMs,
      backoffCoefficient: options.backoffCoefficient ?? 2,
      maxBackoffMs: options.maxBackoffMs ?? Math.max(initialBackoffMs, 10 * 60_000),
      retryableReasons: options.retryableReasons ?? [...DEFAULT_RETRYABLE_REASONS],
    },
  };
}

// Where each field of the workflow's policy comes from in a request's options.
const OPTION_FIELDS: Record<string, string> = {
  'timeouts.stallMs': 'stallTimeoutMs',
  'timeouts.verifyMs': 'verifyTimeoutMs',
  'timeouts.attemptMs': 'attemptTimeoutMs',
  'timeouts.commandTtlMs': 'commandTtlMs',
};

/**
 * Checks a resolved policy as the workflow will, so that a combination of options and defaults the
 * workflow rejects (such as maxBackoffMs below the default initialBackoffMs) gets a 400 naming the option.
 * Returns the problems with fields named under `prefix`, such as `options.maxBackoffMs`.
 */
export function policyProblems(policy: { timeouts: UpgradeTimeouts; retry: RetryPolicy }, prefix: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const timeouts = upgradeTimeoutsSchema.safeParse(policy.timeouts);
  const retry = retryPolicySchema.safeParse(policy.retry);
  for (const [group, result] of [['timeouts', timeouts], ['retry', retry]] as const) {
    if (result.success) continue;
    for (const issue of result.error.issues) {
      const path = [group, ...issue.path.map(String)].join('.');
      const option = OPTION_FIELDS[path] ?? issue.path.map(String).join('.');
      problems.push({ field: `${prefix}.${option}`, message: `${issue.message} (after defaults are applied)` });
    }
  }
  return problems;
}

/** Builds the input of a single device upgrade requested through the API. */
export function buildUpgradeInput(
  ref: DeviceRef,
  firmware: OtaUpgradePayload,
  options: UpgradeOptions,
  defaults: UpgradeDefaults,
): UpgradeInput {
  return {
    productName: ref.productName,
    deviceName: ref.deviceName,
    firmware,
    ...resolveUpgradePolicy(options, defaults),
    // An operator who asks for one device explicitly gets the command even if the device reports the target.
    skipIfInstalled: false,
  };
}

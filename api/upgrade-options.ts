import { z } from 'zod';
import type { UpgradeDefaults } from '../config/settings';
import type { DeviceRef, OtaUpgradePayload } from '../protocol';
import { DEFAULT_RETRYABLE_REASONS, failureReasonSchema, type RetryPolicy, type UpgradeInput, type UpgradeTimeouts } from '../workflows/upgrade-input';

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
});
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

import { z } from 'zod';
import { deviceNameSchema, otaUpgradePayloadSchema, productNameSchema } from '../protocol';
import { FailureReason } from './failure-reason';

export { backoffDelayMs, DEFAULT_RETRYABLE_REASONS, FailureReason } from './failure-reason';

export const failureReasonSchema = z.enum(Object.values(FailureReason) as [FailureReason, ...FailureReason[]]);

const durationMs = z.number().int().min(100).max(7 * 24 * 3_600_000);

export const upgradeTimeoutsSchema = z.strictObject({
  /** How long an attempt may go without new progress before it ends as stall_timeout. */
  stallMs: durationMs,
  /** How long after progress 100 the device has to report the target firmware_ver. */
  verifyMs: durationMs,
  /** Deadline of one attempt, from publishing the command to verification. */
  attemptMs: durationMs,
  /** How long the device may still act on the command; it becomes the command's expiresAt. */
  commandTtlMs: durationMs,
});
export type UpgradeTimeouts = z.infer<typeof upgradeTimeoutsSchema>;

export const retryPolicySchema = z
  .strictObject({
    maxAttempts: z.number().int().min(1).max(20),
    initialBackoffMs: z.number().int().min(0).max(24 * 3_600_000),
    backoffCoefficient: z.number().min(1).max(10),
    maxBackoffMs: z.number().int().min(0).max(24 * 3_600_000),
    retryableReasons: z.array(failureReasonSchema).max(20),
  })
  .refine((policy) => policy.maxBackoffMs >= policy.initialBackoffMs, {
    error: 'maxBackoffMs must be at least initialBackoffMs',
    path: ['maxBackoffMs'],
  });
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

export const upgradeInputSchema = z.strictObject({
  productName: productNameSchema,
  deviceName: deviceNameSchema,
  firmware: otaUpgradePayloadSchema,
  timeouts: upgradeTimeoutsSchema,
  retry: retryPolicySchema,
  /** When true, a device whose stored firmware_ver already equals the target is skipped. */
  skipIfInstalled: z.boolean(),
  /** Workflow id of the campaign this upgrade belongs to, which receives the outcome. */
  campaignWorkflowId: z.string().min(1).max(200).optional(),
});
export type UpgradeInput = z.infer<typeof upgradeInputSchema>;

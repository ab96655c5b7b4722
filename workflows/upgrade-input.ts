import { z } from 'zod';
import { deviceNameSchema, otaUpgradePayloadSchema, productNameSchema } from '../protocol';

/** Reason an attempt, and so possibly the whole upgrade, failed. */
export const FailureReason = {
  /** The device reported progress -1. */
  DOWNLOAD_ERROR: 'download_error',
  /** The device reported progress -2: the package did not match its md5. */
  MD5_ERROR: 'md5_error',
  /** The device reported progress -3. */
  INSTALL_ERROR: 'install_error',
  /** The device reported progress -4. */
  DEVICE_ERROR: 'device_error',
  /** No new progress arrived within the stall timeout. */
  STALL_TIMEOUT: 'stall_timeout',
  /** The attempt as a whole ran past its deadline. */
  ATTEMPT_TIMEOUT: 'attempt_timeout',
  /** The download completed but the device did not report its firmware_ver within the verify timeout. */
  VERIFY_TIMEOUT: 'verify_timeout',
  /** The device came back with a firmware_ver other than the target. */
  VERSION_MISMATCH: 'version_mismatch',
  /** The `$ota_upgrade` command could not be published to the broker. */
  PUBLISH_FAILED: 'publish_failed',
} as const;
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];
export const failureReasonSchema = z.enum(Object.values(FailureReason) as [FailureReason, ...FailureReason[]]);

/** Failure reasons retried unless a request sets others. An install error or a version mismatch
 *  points at the package or the device, where sending the same command again rarely helps. */
export const DEFAULT_RETRYABLE_REASONS: readonly FailureReason[] = [
  FailureReason.DOWNLOAD_ERROR,
  FailureReason.MD5_ERROR,
  FailureReason.DEVICE_ERROR,
  FailureReason.STALL_TIMEOUT,
  FailureReason.ATTEMPT_TIMEOUT,
  FailureReason.VERIFY_TIMEOUT,
  FailureReason.PUBLISH_FAILED,
];

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

/** Delay before the attempt that follows `failedAttempt` (1-based). */
export function backoffDelayMs(policy: RetryPolicy, failedAttempt: number): number {
  const delay = policy.initialBackoffMs * policy.backoffCoefficient ** (failedAttempt - 1);
  return Math.min(Math.round(delay), policy.maxBackoffMs);
}

// Free of zod, so that workflow code can import it: the worker evaluates every module of the workflow
// bundle again for each workflow it creates, and zod's schemas took a quarter of the workflow thread's time.

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

/** Backoff fields of a retry policy. The full RetryPolicy type is in upgrade-input.ts, which imports this module. */
export interface BackoffPolicy {
  initialBackoffMs: number;
  backoffCoefficient: number;
  maxBackoffMs: number;
}

/** Delay before the attempt that follows `failedAttempt` (1-based). */
export function backoffDelayMs(policy: BackoffPolicy, failedAttempt: number): number {
  const delay = policy.initialBackoffMs * policy.backoffCoefficient ** (failedAttempt - 1);
  return Math.min(Math.round(delay), policy.maxBackoffMs);
}

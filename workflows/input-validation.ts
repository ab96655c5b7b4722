import { ApplicationFailure, patched, type LocalActivityOptions } from '@temporalio/workflow';
import type { InputCheck } from '../activities';

/**
 * Patch id of validating workflow inputs in a local activity instead of in the workflow. Validation
 * produces no commands, so a run that started before the patch replays without validating again.
 */
export const LOCAL_VALIDATION = 'local-input-validation';

// Validation is quick and has no side effects. A few attempts cover a worker that is shutting down.
export const VALIDATE_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '100ms' },
};

/**
 * Returns the input as `validate` (a local activity) parsed it, or fails the workflow for good with
 * `failureType` when it is invalid, after calling `beforeFailure`. Runs that started before the
 * LOCAL_VALIDATION patch replay without validating: they were validated in the workflow then.
 */
export async function checkedInput<T>(
  rawInput: T,
  validate: (rawInput: T) => Promise<InputCheck<T>>,
  failure: { label: string; type: string; beforeFailure?: () => void },
): Promise<T> {
  if (!patched(LOCAL_VALIDATION)) return rawInput;
  const checked = await validate(rawInput);
  if (checked.valid) return checked.input;
  failure.beforeFailure?.();
  throw ApplicationFailure.nonRetryable(`invalid ${failure.label} input: ${checked.problems}`, failure.type);
}

import type { LocalActivityOptions } from '@temporalio/workflow';

/**
 * Patch id of validating workflow inputs in a local activity instead of in the workflow. Validation
 * produces no commands, so a run that started before the patch replays without validating again.
 */
export const LOCAL_VALIDATION = 'local-input-validation';

// Validation is quick and has no side effects; a few attempts cover a worker that is shutting down.
export const VALIDATE_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '100ms' },
};

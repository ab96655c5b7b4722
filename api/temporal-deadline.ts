import type { Client } from '@temporalio/client';

/**
 * Longest time an API request waits for Temporal, in milliseconds. Without a deadline a request hangs
 * as long as the server does; with one it fails with DEADLINE_EXCEEDED, which the API answers with 503.
 */
export const TEMPORAL_CALL_TIMEOUT_MS = 10_000;

/** Runs `action` with a deadline on every Temporal call it makes. */
export function withTemporalDeadline<T>(client: Client, action: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + TEMPORAL_CALL_TIMEOUT_MS, action);
}

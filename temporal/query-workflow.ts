import { QueryNotRegisteredError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';

const RETRY_DELAY_MS = 50;

/**
 * Queries a workflow, giving up at `timeoutMs`. The workflows register their query handlers once a local
 * activity has validated their input, so a query sent right after the start can find no handler yet:
 * such a query is sent again until the deadline.
 */
export async function queryWorkflow<T>(client: Client, handle: WorkflowHandle, query: QueryDefinition<T, []>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await client.withDeadline(deadline, () => handle.query(query));
    } catch (error) {
      if (!(error instanceof QueryNotRegisteredError) || Date.now() + RETRY_DELAY_MS >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    }
  }
}

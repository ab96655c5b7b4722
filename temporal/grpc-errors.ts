import { isGrpcServiceError } from '@temporalio/client';

// gRPC status codes after which the same call may succeed: the server was unavailable, overloaded or
// slow. Any other code (an invalid argument such as an exceeded history limit, a failed precondition,
// a permission error) fails again on every retry.
const TRANSIENT_CODES = new Set([
  1, // CANCELLED
  2, // UNKNOWN
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  13, // INTERNAL
  14, // UNAVAILABLE
]);

/** gRPC status code of a Temporal client error or of one of its causes, or undefined for other errors. */
export function grpcStatusCode(error: unknown): number | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    if (isGrpcServiceError(current)) return current.code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when a failed Temporal call may succeed if repeated; errors without a gRPC code count as transient. */
export function isTransientTemporalError(error: unknown): boolean {
  const code = grpcStatusCode(error);
  return code === undefined || TRANSIENT_CODES.has(code);
}

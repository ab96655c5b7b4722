import type { Logger } from '../observability/logger';

/** Error of a start that a shutdown signal interrupted. The parts started so far still need `stopAll()`. */
export class StartInterruptedError extends Error {
  constructor(readonly part: string) {
    super(`start-up was interrupted while starting ${part}`);
    this.name = 'StartInterruptedError';
  }
}

interface Part {
  name: string;
  stop: () => Promise<void>;
}

export interface StackPartsOptions {
  logger: Logger;
  /** Aborted when a shutdown is requested, which ends the start in progress. */
  interrupt: AbortSignal;
  /** Time each part gets to stop before the next one is stopped anyway, in milliseconds. */
  stopTimeoutMs: number;
  /** Prints a line for the user of the start command. */
  print: (line: string) => void;
}

/**
 * The parts of the stack in the order they started: servers, services and the demo device. A shutdown
 * signal ends the start in progress at once, and `stopAll()` stops every part in reverse start order,
 * each within a time limit, so one part that hangs cannot hold up the others.
 */
export class StackParts {
  private readonly parts: Part[] = [];

  constructor(private readonly options: StackPartsOptions) {}

  /**
   * Starts a part and registers how to stop it. Rejects with a StartInterruptedError when the interrupt
   * signal aborts first. A part whose start continues after that is still registered, so `stopAll()`
   * waits for its start to end and then stops it.
   */
  async start<T>(name: string, start: (interrupt: AbortSignal) => Promise<T>, stop: (started: T) => Promise<void>): Promise<T> {
    const { interrupt } = this.options;
    if (interrupt.aborted) throw new StartInterruptedError(name);

    const starting = start(interrupt);
    this.parts.push({
      name,
      stop: async () => {
        let started: T;
        try {
          started = await starting;
        } catch {
          // A start that failed has cleaned up after itself and left nothing to stop.
          return;
        }
        await stop(started);
      },
    });

    let onAbort: () => void = () => undefined;
    const interrupted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new StartInterruptedError(name));
      interrupt.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([starting, interrupted]);
    } catch (error) {
      // Whatever the start throws after an interrupt comes from the interrupt, such as a server stopped mid-start.
      if (interrupt.aborted) throw new StartInterruptedError(name);
      throw error;
    } finally {
      interrupt.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops every part in reverse start order. A part that does not stop within the time limit, or whose
   * stop fails, is logged and printed, and the next part is stopped anyway. Resolves with the names of
   * the parts that did not stop cleanly.
   */
  async stopAll(): Promise<string[]> {
    const { logger, stopTimeoutMs, print } = this.options;
    const failed: string[] = [];
    for (const part of this.parts.splice(0).reverse()) {
      const outcome = await stopWithin(part.stop(), stopTimeoutMs);
      if (outcome.kind === 'stopped') continue;
      failed.push(part.name);
      if (outcome.kind === 'timed-out') {
        logger.warn({ part: part.name, stopTimeoutMs }, 'part of the stack did not stop in time; stopping the next one');
        print(`${part.name} did not stop within ${stopTimeoutMs / 1000} s; going on without it`);
      } else {
        logger.error({ part: part.name, err: outcome.error }, 'stopping a part of the stack failed');
        print(`stopping ${part.name} failed: ${describeError(outcome.error)}`);
      }
    }
    return failed;
  }
}

type StopOutcome = { kind: 'stopped' } | { kind: 'timed-out' } | { kind: 'failed'; error: unknown };

async function stopWithin(stopping: Promise<void>, timeoutMs: number): Promise<StopOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<StopOutcome>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, { kind: 'timed-out' });
  });
  const settled = stopping.then(
    (): StopOutcome => ({ kind: 'stopped' }),
    (error: unknown): StopOutcome => ({ kind: 'failed', error }),
  );
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

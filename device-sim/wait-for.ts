import type { EventEmitter } from 'node:events';

/**
 * Resolves with the first value `find` returns other than undefined, checking now and after each
 * `event` on `emitter`. Rejects with `timeoutMessage` after `timeoutMs` milliseconds.
 */
export function waitForValue<T>(
  emitter: EventEmitter,
  event: string,
  find: () => T | undefined,
  timeoutMs: number,
  timeoutMessage: () => string,
): Promise<T> {
  const found = find();
  if (found !== undefined) return Promise.resolve(found);

  return new Promise<T>((resolve, reject) => {
    const onEvent = () => {
      const value = find();
      if (value === undefined) return;
      cleanUp();
      resolve(value);
    };
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(timeoutMessage()));
    }, timeoutMs);
    const cleanUp = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
    };
    emitter.on(event, onEvent);
  });
}

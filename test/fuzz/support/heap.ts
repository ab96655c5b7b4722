import v8 from 'node:v8';
import vm from 'node:vm';

let collectGarbage: (() => void) | undefined;

/**
 * Returns the bytes of V8 heap in use after a full garbage collection. Jest does not start Node with
 * --expose-gc, so the flag is set at run time and `gc` is read from a fresh context, where V8 then
 * defines it.
 */
export function heapUsedAfterGc(): number {
  if (collectGarbage === undefined) {
    v8.setFlagsFromString('--expose-gc');
    collectGarbage = vm.runInNewContext('gc') as () => void;
  }
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

import pino from 'pino';
import { StackParts, StartInterruptedError } from '../../dev-stack/stack-parts';

const silentLogger = pino({ level: 'silent' });

function createParts(stopTimeoutMs = 1_000) {
  const interrupt = new AbortController();
  const printed: string[] = [];
  const parts = new StackParts({ logger: silentLogger, interrupt: interrupt.signal, stopTimeoutMs, print: (line) => printed.push(line) });
  return { parts, interrupt, printed };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

describe('StackParts', () => {
  test('stops parts in reverse start order', async () => {
    const { parts } = createParts();
    const stopped: string[] = [];
    for (const name of ['temporal', 'ferretdb', 'broker', 'worker', 'bridge']) {
      await parts.start(name, async () => name, async (started) => {
        stopped.push(started);
      });
    }

    expect(await parts.stopAll()).toEqual([]);
    expect(stopped).toEqual(['bridge', 'worker', 'broker', 'ferretdb', 'temporal']);
  });

  test('moves on after a stop times out', async () => {
    const { parts, printed } = createParts(200);
    const stopped: string[] = [];
    await parts.start('temporal', async () => 'temporal', async () => {
      stopped.push('temporal');
    });
    await parts.start('bridge', async () => 'bridge', () => new Promise<void>(() => undefined));

    const startedAt = Date.now();
    const notStopped = await parts.stopAll();

    expect(notStopped).toEqual(['bridge']);
    expect(stopped).toEqual(['temporal']);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(printed).toEqual(['bridge did not stop within 0.2 s; going on without it']);
  });

  test('moves on after a stop fails', async () => {
    const { parts, printed } = createParts();
    const stopped: string[] = [];
    await parts.start('broker', async () => 'broker', async () => {
      stopped.push('broker');
    });
    await parts.start('api', async () => 'api', async () => {
      throw new Error('close failed');
    });

    expect(await parts.stopAll()).toEqual(['api']);
    expect(stopped).toEqual(['broker']);
    expect(printed).toEqual(['stopping api failed: close failed']);
  });

  test('interrupt ends a start in progress', async () => {
    const { parts, interrupt } = createParts();
    const server = deferred<string>();
    const stopped: string[] = [];
    let startSignal: AbortSignal | undefined;

    const starting = parts.start(
      'temporal',
      (signal) => {
        startSignal = signal;
        return server.promise;
      },
      async (started) => {
        stopped.push(started);
      },
    );
    interrupt.abort('SIGINT');

    await expect(starting).rejects.toThrow(new StartInterruptedError('temporal'));
    expect(startSignal?.aborted).toBe(true);

    // The server finishes starting after the interrupt, and stopAll still stops it.
    server.resolve('temporal');
    expect(await parts.stopAll()).toEqual([]);
    expect(stopped).toEqual(['temporal']);
  });

  test('start after interrupt is rejected', async () => {
    const { parts, interrupt } = createParts();
    interrupt.abort('SIGINT');
    const start = jest.fn(async () => 'worker');

    await expect(parts.start('worker', start, async () => undefined)).rejects.toBeInstanceOf(StartInterruptedError);
    expect(start).not.toHaveBeenCalled();
  });

  test('failed start is not stopped', async () => {
    const { parts } = createParts();
    const stop = jest.fn(async () => undefined);

    await expect(parts.start('ferretdb', async () => Promise.reject(new Error('exited early')), stop)).rejects.toThrow('exited early');

    expect(await parts.stopAll()).toEqual([]);
    expect(stop).not.toHaveBeenCalled();
  });

  test('error after interrupt reports the interrupt', async () => {
    const { parts, interrupt } = createParts();
    const server = deferred<string>();

    const starting = parts.start('temporal', () => server.promise.then(() => Promise.reject(new Error('Namespace default was not found'))), async () => undefined);
    interrupt.abort('SIGINT');

    await expect(starting).rejects.toBeInstanceOf(StartInterruptedError);
    server.resolve('');
    expect(await parts.stopAll()).toEqual([]);
  });
});

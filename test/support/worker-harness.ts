import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import type { ActivityDependencies } from '../../activities';
import { createUpgradeWorker } from '../../worker/create-worker';

/** Environment variable a setting comes from, failing with a clear message when the harness did not set it. */
export function requiredEnv(name: 'TEMPORAL_ADDRESS' | 'MONGO_URL' | 'MQTT_URL'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest so that test/support/global-setup.ts starts the servers`);
  return value;
}

let runtimeInstalled = false;

/** Keeps the SDK's own logs to errors, so expected workflow failures do not look like test failures. OTA_TEST_SDK_LOG_LEVEL=WARN shows them. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(process.env.OTA_TEST_SDK_LOG_LEVEL === 'WARN' ? 'WARN' : 'ERROR') });
}

export interface RunningWorker {
  client: Client;
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

/**
 * Starts a worker of the engine's workflows on a task queue of its own, against the harness's Temporal
 * server, with the given activity dependencies, and a client to drive it.
 */
export async function startTestWorker(dependencies: ActivityDependencies, label = 'test'): Promise<RunningWorker> {
  quietRuntime();
  const address = requiredEnv('TEMPORAL_ADDRESS');
  const taskQueue = `${label}-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker = await createUpgradeWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    dependencies,
    tuning: { shutdownGraceTime: '1s' },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    client,
    taskQueue,
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(description: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

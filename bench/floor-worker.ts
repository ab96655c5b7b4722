import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pino from 'pino';
import { PinoSdkLogger } from '../worker/sdk-logger';
import { createFloorActivities } from './floor-activities';

/**
 * Worker process of the Temporal floor. Settings come from the environment: TEMPORAL_ADDRESS,
 * BENCH_FLOOR_TASK_QUEUE and BENCH_FLOOR_NOTIFY_URL (the signal client's HTTP address). It runs with
 * the SDK's default worker options, as the engine's worker does, until SIGINT or SIGTERM.
 */
async function main(): Promise<void> {
  const address = requireEnv('TEMPORAL_ADDRESS');
  const taskQueue = requireEnv('BENCH_FLOOR_TASK_QUEUE');
  const notifyUrl = requireEnv('BENCH_FLOOR_NOTIFY_URL');
  const logger = pino({ level: 'warn', base: { service: 'bench-floor-worker' } });
  Runtime.install({ logger: new PinoSdkLogger(logger), shutdownSignals: ['SIGINT', 'SIGTERM'] });

  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue,
      workflowsPath: require.resolve('./floor-workflows'),
      activities: createFloorActivities(notifyUrl),
      shutdownGraceTime: '5s',
    });
    await worker.run();
  } finally {
    await connection.close();
  }
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`missing environment variable ${name}`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`floor worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

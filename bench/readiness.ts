import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { ObjectId } from 'bson';
import type { Db } from 'mongodb';
import mqtt from 'mqtt';
import { ReportKind, reportTopic } from '../protocol';
import type { NodeProcess } from './node-process';

// Value of temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW in Temporal's API protos.
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/**
 * Calls `check` every `intervalMs` until it returns a value, and rejects after `timeoutMs`, when `abort`
 * fires, or when one of `processes` exits, naming what it waited for.
 */
export async function waitUntil<T>(
  description: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; abort: AbortSignal; processes?: readonly NodeProcess[] },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no check finished';
  for (;;) {
    options.abort.throwIfAborted();
    const dead = options.processes?.find((process) => !process.isRunning);
    if (dead !== undefined) throw new Error(`${dead.name} exited while waiting for ${description}; see ${dead.logPath}`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${description} (last error: ${lastError})`);
    await sleep(options.intervalMs ?? 500, undefined, { signal: options.abort });
  }
}

/** Resolves once a worker polls the task queue for workflow tasks. */
export async function waitForWorkerPoller(client: Client, taskQueue: string, worker: NodeProcess, abort: AbortSignal): Promise<void> {
  await waitUntil(
    `a worker polling task queue ${taskQueue}`,
    async () => {
      const response = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
      });
      return (response.pollers?.length ?? 0) > 0 ? true : undefined;
    },
    { timeoutMs: 120_000, abort, processes: [worker] },
  );
}

/** Resolves once `url` returns HTTP 200. */
export async function waitForHttpOk(url: string, service: NodeProcess, abort: AbortSignal): Promise<void> {
  await waitUntil(
    `HTTP 200 from ${url}`,
    async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      await response.body?.cancel();
      return response.status === 200 ? true : undefined;
    },
    { timeoutMs: 120_000, abort, processes: [service] },
  );
}

/**
 * Resolves once the bridge stores reports: a probe device of another product publishes its status
 * every second until the registry has it. Reports published before the bridge subscribed are not
 * delivered to it, which is why the fleet may only connect after this.
 */
export async function waitForBridge(mqttUrl: string, db: Db, bridge: NodeProcess, abort: AbortSignal): Promise<void> {
  const probe = { productName: 'benchprobe', deviceName: 'probe-1' };
  const client = await mqtt.connectAsync(mqttUrl, { clientId: `bench-probe-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0 });
  try {
    await waitUntil(
      'the bridge to store a probe report',
      async () => {
        const found = await db.collection('devices').findOne({ product_name: probe.productName });
        if (found !== null) return true;
        const topic = reportTopic({ kind: ReportKind.STATUS, ...probe, messageId: new ObjectId().toHexString() });
        await client.publishAsync(topic, JSON.stringify({ firmware_ver: 'probe' }), { qos: 1 });
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000, abort, processes: [bridge] },
    );
  } finally {
    await client.endAsync();
  }
}

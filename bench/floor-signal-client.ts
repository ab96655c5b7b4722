import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { ObjectId } from 'bson';
import { LOOPBACK_HOST } from '../dev-stack/ports';
import { floorReportSignal } from './floor-workflows';
import type { SentRecord } from './history-metrics';

/** Settings of the signal client, passed as JSON in its first argument. */
export interface SignalClientConfig {
  temporalAddress: string;
  /** When each signal goes out after the child's activity notified this client, in milliseconds. */
  offsetsMs: number[];
  /** Child workflow ids whose signals are recorded one by one for the latency figures. */
  sampledWorkflowIds: string[];
}

/** Messages the signal client sends to the benchmark over IPC. */
export type SignalClientMessage =
  | { type: 'listening'; url: string }
  | { type: 'result'; notified: number; sent: number; failed: number; records: SentRecord[] };

const SEND_ATTEMPTS = 3;

/**
 * Runs the Temporal floor's stand-in for devices and bridge. When a child's activity posts its workflow
 * id, this process sends that child its signals at the device's report times, straight to Temporal. It
 * records the send time of each signal of the sampled children and returns them on `finish`.
 */
async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as SignalClientConfig;
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const sampled = new Set(config.sampledWorkflowIds);
  const records: SentRecord[] = [];
  let notified = 0;
  let sent = 0;
  let failed = 0;

  const sendSignal = async (workflowId: string) => {
    const messageId = new ObjectId().toHexString();
    const sentAt = Date.now();
    for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt += 1) {
      try {
        await client.workflow.getHandle(workflowId).signal(floorReportSignal, { messageId });
        sent += 1;
        if (sampled.has(workflowId)) records.push({ messageId, sentAt, progress: undefined });
        return;
      } catch (error) {
        if (attempt === SEND_ATTEMPTS) {
          failed += 1;
          process.stderr.write(`signal to ${workflowId} failed after ${SEND_ATTEMPTS} attempts: ${(error as Error).message}\n`);
        } else {
          await sleep(200 * attempt);
        }
      }
    }
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let workflowId: unknown;
      try {
        workflowId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { workflowId?: unknown }).workflowId;
      } catch {
        workflowId = undefined;
      }
      if (typeof workflowId !== 'string') {
        response.writeHead(400).end('expected a JSON body with a string workflowId');
        return;
      }
      notified += 1;
      for (const offset of config.offsetsMs) setTimeout(() => void sendSignal(workflowId as string), offset);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK_HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the signal client listens on no TCP port');

  const stop = async () => {
    server.close();
    await connection.close();
    process.disconnect?.();
    process.exit(0);
  };
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'finish') return;
    send({ type: 'result', notified, sent, failed, records });
    void stop();
  });
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('disconnect', () => void stop());
  send({ type: 'listening', url: `http://${LOOPBACK_HOST}:${address.port}/` });
}

function send(message: SignalClientMessage): void {
  process.send?.(message);
}

main().catch((error: unknown) => {
  process.stderr.write(`floor signal client failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

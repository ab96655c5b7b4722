import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { terminateRunningUpgrade } from '../../dev-stack/demo';
import { upgradeWorkflowId } from '../../protocol';
import { requiredEnv } from '../support/worker-harness';

// The demo ends an upgrade of its device that an interrupted earlier demo left running. The workflows
// here run on a task queue without a worker, so they stay running until terminated.

let connection: Connection;
let client: Client;

beforeAll(async () => {
  connection = await Connection.connect({ address: requiredEnv('TEMPORAL_ADDRESS') });
  client = new Client({ connection, namespace: 'default' });
});

afterAll(async () => {
  await connection?.close();
});

describe('terminateRunningUpgrade', () => {
  it('terminates a running upgrade once', async () => {
    const ref = { productName: 'demo-leftover', deviceName: `dev-${randomUUID().slice(0, 8)}` };
    await client.workflow.start('upgradeDevice', { workflowId: upgradeWorkflowId(ref), taskQueue: `no-worker-${randomUUID().slice(0, 8)}`, args: [{}] });

    expect(await terminateRunningUpgrade(client, ref, 'test')).toBe(true);
    const description = await client.workflow.getHandle(upgradeWorkflowId(ref)).describe();
    expect(description.status.name).toBe('TERMINATED');
    expect(await terminateRunningUpgrade(client, ref, 'test')).toBe(false);
  });

  it('ignores a device without upgrades', async () => {
    const ref = { productName: 'demo-leftover', deviceName: `none-${randomUUID().slice(0, 8)}` };
    expect(await terminateRunningUpgrade(client, ref, 'test')).toBe(false);
  });
});

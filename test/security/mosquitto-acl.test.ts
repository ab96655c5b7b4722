import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ObjectId } from 'bson';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { startBridgeService, type BridgeService } from '../../bridge/bridge-service';
import { startMosquittoServer, type MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';
import { SimDevice } from '../../device-sim/sim-device';
import { startUpgradeWorkflow } from '../../temporal/upgrade-runs';
import { startWorkerService, type WorkerService } from '../../worker/worker-service';
import { PROJECT_ROOT } from '../support/compile-with-tsc';
import { quietRuntime, requiredEnv, waitFor } from '../support/worker-harness';

// The Mosquitto ACL in deploy/mosquitto/acl, on a real Mosquitto with a password file: the engine's worker
// and bridge work with their own users, and a device can neither publish as another device nor read
// another device's commands.

const ACL_FILE = path.join(PROJECT_ROOT, 'deploy', 'mosquitto', 'acl');
const USERS = {
  'ota-bridge': 'bridge-password-0123456789',
  'ota-worker': 'worker-password-0123456789',
  'lamp/dev-1': 'device-one-password',
  'lamp/dev-2': 'device-two-password',
};

let dataDir: string;
let broker: MosquittoServerHandle;
const clients: MqttClient[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'ota-acl-'));
  const passwordFile = path.join(dataDir, 'passwd');
  for (const [index, [user, password]] of Object.entries(USERS).entries()) {
    execFileSync('mosquitto_passwd', [...(index === 0 ? ['-c'] : []), '-b', passwordFile, user, password]);
  }
  broker = await startMosquittoServer({ dataDir: path.join(dataDir, 'broker'), passwordFile, aclFile: ACL_FILE });
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync()));
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function connectAs(user: keyof typeof USERS, clientId: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { clientId, username: user, password: USERS[user], reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

function messageId(): string {
  return new ObjectId().toHexString();
}

describe('Mosquitto ACL', () => {
  it('rejects anonymous clients and wrong passwords', async () => {
    await expect(mqtt.connectAsync(broker.url, { clientId: 'anonymous', reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/);
    await expect(
      mqtt.connectAsync(broker.url, { clientId: 'guess', username: 'lamp/dev-1', password: 'wrong', reconnectPeriod: 0 }),
    ).rejects.toThrow(/Not authorized/);
  });

  it('keeps a device from publishing as another device', async () => {
    const bridge = await connectAs('ota-bridge', 'acl-bridge');
    const received: string[] = [];
    bridge.on('message', (topic) => received.push(topic));
    await bridge.subscribeAsync(['$share/acl/update_status/+/+/+', '$share/acl/update_ota_status/+/+/+'], { qos: 1 });

    const device = await connectAs('lamp/dev-1', 'acl-dev-1');
    const own = `update_status/lamp/dev-1/${messageId()}`;
    const forged = `update_status/lamp/dev-2/${messageId()}`;
    const forgedProgress = `update_ota_status/lamp/dev-2/${messageId()}`;
    await device.publishAsync(forged, JSON.stringify({ firmware_ver: '1.1' }), { qos: 1 });
    await device.publishAsync(forgedProgress, JSON.stringify({ version: '1.1', type: 'firmware', progress: 100 }), { qos: 1 });
    await device.publishAsync(own, JSON.stringify({ firmware_ver: '1.0' }), { qos: 1 });

    // The device's own report arrives after the forged ones, so once it is in, the others were dropped.
    await waitFor('the device own report', () => (received.includes(own) ? true : undefined));
    expect(received).not.toContain(forged);
    expect(received).not.toContain(forgedProgress);
  });

  it('keeps a device from reading another device commands', async () => {
    const device = await connectAs('lamp/dev-1', 'acl-reader');
    const received: string[] = [];
    device.on('message', (topic) => received.push(topic));
    await device.subscribeAsync(['cmd/lamp/dev-2/+/+/+/+', 'cmd/lamp/dev-1/+/+/+/+'], { qos: 1 });

    const worker = await connectAs('ota-worker', 'acl-worker');
    const other = 'cmd/lamp/dev-2/$ota_upgrade/plain/other/9999999999999';
    const own = 'cmd/lamp/dev-1/$ota_upgrade/plain/own/9999999999999';
    await worker.publishAsync(other, '{}', { qos: 1 });
    await worker.publishAsync(own, '{}', { qos: 1 });
    await waitFor('the device own command', () => (received.includes(own) ? true : undefined));
    expect(received).not.toContain(other);
  });

  it('upgrades a device with the engine logged in as its own users', async () => {
    quietRuntime();
    const logger = pino({ level: 'silent' });
    const mongo = { url: requiredEnv('MONGO_URL'), database: 'ota_acl' };
    const temporal = {
      address: requiredEnv('TEMPORAL_ADDRESS'),
      namespace: 'default',
      taskQueue: `acl-${messageId()}`,
      tls: false,
      tlsCertPath: undefined,
      tlsKeyPath: undefined,
      tlsCaPath: undefined,
      tlsServerName: undefined,
      apiKey: undefined,
    };
    const mqttFor = (user: 'ota-worker' | 'ota-bridge') => ({ url: broker.url, username: user, password: USERS[user], clientIdPrefix: 'acl-engine' });
    let worker: WorkerService | undefined;
    let bridge: BridgeService | undefined;
    const device = new SimDevice({ productName: 'lamp', deviceName: 'dev-2', mqttUrl: broker.url, username: 'lamp/dev-2', password: USERS['lamp/dev-2'], timings: { stepIntervalMs: 50, steps: 3, installDelayMs: 50 } });
    const connection = await Connection.connect({ address: temporal.address });
    try {
      worker = await startWorkerService({ temporal, mongo, mqtt: mqttFor('ota-worker'), logger });
      bridge = await startBridgeService({
        temporal,
        mongo,
        mqtt: mqttFor('ota-bridge'),
        bridge: { connections: 2, sharedSubscription: true, shareGroup: 'acl-bridge', progressSignalIntervalMs: 1_000, cleanSession: false },
        logger,
      });
      await device.start();
      const client = new Client({ connection });
      const started = await startUpgradeWorkflow(client, temporal.taskQueue, {
        productName: 'lamp',
        deviceName: 'dev-2',
        firmware: { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' },
        timeouts: { stallMs: 10_000, verifyMs: 10_000, attemptMs: 60_000, commandTtlMs: 60_000 },
        retry: { maxAttempts: 1, initialBackoffMs: 100, backoffCoefficient: 2, maxBackoffMs: 1_000, retryableReasons: [] },
        skipIfInstalled: false,
      });
      const state = (await client.workflow.getHandle(started.workflowId, started.runId).result()) as { phase: string };
      expect(state.phase).toBe('succeeded');
      expect(device.currentVersion).toBe('1.1');
    } finally {
      await device.close();
      await bridge?.stop();
      await worker?.stop();
      await connection.close();
    }
  });
});

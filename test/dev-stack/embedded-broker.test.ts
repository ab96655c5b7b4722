import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { compileWithTsc, PROJECT_ROOT } from '../support/compile-with-tsc';
import { BrokerChild } from './broker-child';

const ENGINE = { username: 'ota-engine', password: 'test-password-4f1c9e27a8d3' };
const CONNECT_OPTIONS: IClientOptions = { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 };

function engineClient(url: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { ...CONNECT_OPTIONS, clientId, username: ENGINE.username, password: ENGINE.password }, false);
}

// Resolves with the CONNACK return code of a rejected CONNECT, or 0 when the broker accepted it.
async function connackCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { ...CONNECT_OPTIONS, ...options }, false);
    await client.endAsync();
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'number') throw error;
    return code;
  }
}

function waitFor<T>(promise: Promise<T>, timeoutMs: number, awaited: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('embedded broker', () => {
  let outDir: string;
  let launcher: string;
  const brokers: BrokerChild[] = [];
  const clients: MqttClient[] = [];

  async function startBroker(options: Parameters<typeof BrokerChild.start>[1] = {}) {
    const started = await BrokerChild.start(launcher, { engineCredentials: ENGINE, ...options });
    brokers.push(started.broker);
    return started;
  }

  function track(client: MqttClient): MqttClient {
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    // The compiled files must sit inside the project, so that import('aedes') finds node_modules.
    const cacheDir = path.join(PROJECT_ROOT, 'node_modules', '.cache');
    mkdirSync(cacheDir, { recursive: true });
    outDir = await mkdtemp(path.join(cacheDir, 'ota-test-build-'));
    launcher = compileWithTsc(path.join(PROJECT_ROOT, 'dev-stack', 'servers', 'embedded-broker.ts'), outDir);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    for (const broker of brokers.splice(0)) broker.kill();
  });

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  describe('device admission', () => {
    test('holds a device until admitDevices', async () => {
      const { broker, url } = await startBroker({ holdDevicesUntilAdmitted: true });
      const device = track(mqtt.connect(url, { ...CONNECT_OPTIONS, clientId: 'device-1', reconnectPeriod: 500, connectTimeout: 10_000 }));
      const deviceConnected = new Promise<void>((resolve) => device.once('connect', () => resolve()));

      // The engine's own clients pass while devices wait.
      const bridge = track(await engineClient(url, 'ota-engine-bridge'));
      await bridge.subscribeAsync('update_ota_status/#', { qos: 1 });
      await sleep(700);
      expect(device.connected).toBe(false);

      expect((await broker.request('admit')).event).toBe('admitted');
      await waitFor(deviceConnected, 5_000, 'the device to connect after admitDevices');

      const received = new Promise<string>((resolve) => bridge.once('message', (_topic, payload) => resolve(payload.toString('utf8'))));
      await device.publishAsync('update_ota_status/demo/device-1/m1', '{"progress":20}', { qos: 1 });
      expect(await waitFor(received, 5_000, 'the report at the bridge')).toBe('{"progress":20}');
    });

    test('rejects a held device after the hold time', async () => {
      const { url } = await startBroker({ holdDevicesUntilAdmitted: true, deviceHoldMs: 300 });

      // 3 is "server unavailable" in MQTT 3.1.1.
      expect(await connackCode(url, { clientId: 'device-2' })).toBe(3);
    });

    test('admits devices at once by default', async () => {
      const { url } = await startBroker();

      expect(await connackCode(url, { clientId: 'device-3' })).toBe(0);
    });

    test('stop ends held connections', async () => {
      const { broker, url } = await startBroker({ holdDevicesUntilAdmitted: true });
      const device = track(mqtt.connect(url, { ...CONNECT_OPTIONS, clientId: 'device-4', connectTimeout: 30_000 }));
      const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
      await sleep(300);

      expect((await broker.request('stop')).event).toBe('stopped');
      await waitFor(closed, 5_000, 'the held device to be disconnected');
      expect(await waitFor(broker.exited, 10_000, 'the broker child to exit after stop')).toBe(0);
    });
  });

  describe('reserved client ids', () => {
    test.each([
      ['no credentials', {}],
      ['wrong password', { username: ENGINE.username, password: 'guess' }],
      ['wrong username', { username: 'someone', password: ENGINE.password }],
    ])('rejects the bridge id with %s', async (_case, credentials) => {
      const { url } = await startBroker();

      // 5 is "not authorized" in MQTT 3.1.1.
      expect(await connackCode(url, { clientId: 'ota-engine-bridge', ...credentials })).toBe(5);
    });

    test.each(['ota-engine-bridge', 'ota-engine-bridge-2', 'ota-engine-worker'])('accepts %s with the engine credentials', async (clientId) => {
      const { url } = await startBroker({ holdDevicesUntilAdmitted: true });

      expect(await connackCode(url, { clientId, username: ENGINE.username, password: ENGINE.password })).toBe(0);
    });

    test('reserves the configured prefix', async () => {
      const { url } = await startBroker({ reservedClientIdPrefix: 'fleet-a' });

      expect(await connackCode(url, { clientId: 'fleet-a-bridge' })).toBe(5);
      expect(await connackCode(url, { clientId: 'ota-engine-bridge' })).toBe(0);
    });

    test('bridge session cannot be taken over', async () => {
      const { url } = await startBroker();
      const bridge = track(await engineClient(url, 'ota-engine-bridge'));
      let bridgeClosed = false;
      bridge.on('close', () => {
        bridgeClosed = true;
      });

      expect(await connackCode(url, { clientId: 'ota-engine-bridge' })).toBe(5);
      await sleep(300);

      expect(bridgeClosed).toBe(false);
      expect(bridge.connected).toBe(true);
    });

    test('logs never contain the password', async () => {
      const { broker, url } = await startBroker();
      await connackCode(url, { clientId: 'ota-engine-bridge', username: ENGINE.username, password: 'wrong-password' });
      await connackCode(url, { clientId: 'ota-engine-bridge', username: ENGINE.username, password: ENGINE.password });
      await sleep(200);

      expect(broker.stderr).toContain('rejected a client that uses a client id reserved for the engine');
      expect(broker.stderr).not.toContain(ENGINE.password);
      expect(broker.stderr).not.toContain('wrong-password');
    });
  });

  describe('packet size limit', () => {
    test('closes a client above the limit', async () => {
      const { broker, url } = await startBroker({ maxPacketBytes: 64 * 1024 });
      const subscriber = track(await mqtt.connectAsync(url, { ...CONNECT_OPTIONS, clientId: 'subscriber' }, false));
      await subscriber.subscribeAsync('big/#', { qos: 0 });
      const publisher = track(await mqtt.connectAsync(url, { ...CONNECT_OPTIONS, clientId: 'publisher' }, false));
      const publisherClosed = new Promise<void>((resolve) => publisher.once('close', () => resolve()));
      const delivered: number[] = [];
      subscriber.on('message', (_topic, payload) => delivered.push(payload.length));

      await publisher.publishAsync('big/accepted', Buffer.alloc(60 * 1024), { qos: 1 });
      for (let waitedMs = 0; delivered.length === 0 && waitedMs < 5_000; waitedMs += 50) await sleep(50);
      publisher.publish('big/rejected', Buffer.alloc(1024 * 1024), { qos: 0 });

      await waitFor(publisherClosed, 5_000, 'the broker to close the publisher');
      await sleep(200);
      expect(delivered).toEqual([60 * 1024]);
      expect(subscriber.connected).toBe(true);
      expect(broker.stderr).toMatch(/MQTT packet of 1048\d+ bytes is larger than the broker's limit of 65536 bytes/);
    });

    test('does not buffer an oversized packet', async () => {
      const { broker, url } = await startBroker();
      const publisher = track(await mqtt.connectAsync(url, { ...CONNECT_OPTIONS, clientId: 'flooder' }, false));
      const closed = new Promise<void>((resolve) => publisher.once('close', () => resolve()));
      const before = (await broker.request('rss')).bytes!;

      publisher.publish('flood', Buffer.alloc(64 * 1024 * 1024), { qos: 0 });
      await waitFor(closed, 10_000, 'the broker to close the flooding client');
      const after = (await broker.request('rss')).bytes!;

      // Buffering the packet would add its 64 MiB; the limit leaves at most a few socket reads.
      expect(after - before).toBeLessThan(16 * 1024 * 1024);
    });
  });
});

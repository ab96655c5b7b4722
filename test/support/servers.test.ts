import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { MongoClient } from 'mongodb';
import mqtt from 'mqtt';
import { canConnect } from '../../dev-stack/ports';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { compileWithTsc, PROJECT_ROOT } from './compile-with-tsc';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set; run the tests with Jest so that test/support/global-setup.ts starts the servers`);
  }
  return value;
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, awaited: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface ReceivedMessage {
  topic: string;
  payload: string;
  qos: number;
}

// Subscribes one client, publishes from another at QoS 1, and returns what the subscriber received.
async function relayOneMessage(url: string, payload: string): Promise<ReceivedMessage> {
  const topic = `test/harness/${randomUUID()}`;
  const options = { reconnectPeriod: 0, connectTimeout: 5_000 };
  const subscriber = await mqtt.connectAsync(url, { ...options, clientId: `harness-sub-${randomUUID()}` });
  const publisher = await mqtt.connectAsync(url, { ...options, clientId: `harness-pub-${randomUUID()}` });
  try {
    const granted = await subscriber.subscribeAsync(topic, { qos: 1 });
    expect(granted.map((grant) => grant.qos)).toEqual([1]);
    const received = new Promise<ReceivedMessage>((resolve) => {
      subscriber.once('message', (messageTopic, body, packet) => resolve({ topic: messageTopic, payload: body.toString('utf8'), qos: packet.qos }));
    });
    // publishAsync resolves on the broker's PUBACK.
    await publisher.publishAsync(topic, payload, { qos: 1 });
    const message = await withTimeout(received, 5_000, `the message on ${topic}`);
    expect(message.topic).toBe(topic);
    return message;
  } finally {
    await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
  }
}

describe('Temporal dev server', () => {
  let connection: Connection;
  let registered: Record<string, number>;

  beforeAll(async () => {
    connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
    const response = await connection.operatorService.listSearchAttributes({ namespace: requireEnv('TEMPORAL_NAMESPACE') });
    registered = response.customAttributes;
  });

  afterAll(async () => {
    await connection?.close();
  });

  test.each(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, key.type] as const))('registers search attribute %s as %s', (name, type) => {
    expect(registered[name]).toBe(encodeSearchAttributeIndexedValueType(type));
  });
});

describe('FerretDB', () => {
  test('insert and find round trip', async () => {
    const client = new MongoClient(requireEnv('MONGO_URL'), { serverSelectionTimeoutMS: 5_000 });
    try {
      const collection = client.db('ota_harness_test').collection<{ _id: string; firmware: string; attempts: number; tags: string[] }>('round_trip');
      const document = { _id: randomUUID(), firmware: '1.2.3', attempts: 2, tags: ['canary'] };

      const inserted = await collection.insertOne(document);
      expect(inserted.insertedId).toBe(document._id);

      const found = await collection.findOne({ _id: document._id });
      expect(found).toEqual(document);
    } finally {
      await client.close();
    }
  });
});

describe('Mosquitto', () => {
  test('QoS 1 publish and subscribe round trip', async () => {
    const message = await relayOneMessage(requireEnv('MQTT_URL'), 'mosquitto round trip');

    expect(message.payload).toBe('mosquitto round trip');
    expect(message.qos).toBe(1);
  });
});

// Jest loads modules through its own loader, and without Node's --experimental-vm-modules flag it cannot
// run a real import() of an ES module: @swc/jest turns `import('aedes')` into require(), which Jest then
// rejects for the ESM-only aedes 1.x. So this test compiles the launcher with tsc, exactly as the build
// does, and runs it in a plain Node child process, which reports over stdout and stops on a line on stdin.
const BROKER_CHILD_SCRIPT = `
const { startEmbeddedBroker } = require(process.argv[1]);
const report = (event) => process.stdout.write(JSON.stringify(event) + '\\n');
startEmbeddedBroker().then((broker) => {
  report({ event: 'started', url: broker.url, port: broker.port });
  process.stdin.once('data', () => {
    process.stdin.destroy();
    broker.stop().then(() => report({ event: 'stopped' }));
  });
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

describe('embedded broker', () => {
  test('starts, relays QoS 1 and stops', async () => {
    // The compiled file must sit inside the project: an import() from CommonJS resolves 'aedes' by walking
    // up from the file's folder to node_modules, and NODE_PATH does not apply to import().
    const cacheDir = path.join(PROJECT_ROOT, 'node_modules', '.cache');
    mkdirSync(cacheDir, { recursive: true });
    const outDir = await mkdtemp(path.join(cacheDir, 'ota-test-build-'));
    const child = { process: undefined as ReturnType<typeof spawn> | undefined };
    try {
      const compiled = compileWithTsc(path.join(PROJECT_ROOT, 'dev-stack', 'servers', 'embedded-broker.ts'), outDir);
      expect(await readFile(compiled, 'utf8')).toContain("await import('aedes')");

      const broker = spawn(process.execPath, ['-e', BROKER_CHILD_SCRIPT, compiled], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      child.process = broker;
      let stderr = '';
      broker.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const exited = new Promise<number | null>((resolve) => broker.once('exit', (code) => resolve(code)));
      const events = createInterface({ input: broker.stdout })[Symbol.asyncIterator]();
      const nextEvent = async (): Promise<{ event: string; url?: string; port?: number }> => {
        const line = await withTimeout(events.next(), 15_000, `the embedded broker child to report (stderr: ${stderr})`);
        if (line.done === true) throw new Error(`the embedded broker child closed stdout early (stderr: ${stderr})`);
        return JSON.parse(line.value) as { event: string; url?: string; port?: number };
      };

      const started = await nextEvent();
      expect(started.event).toBe('started');
      expect(started.url).toBe(`mqtt://127.0.0.1:${started.port}`);

      const message = await relayOneMessage(started.url!, 'embedded round trip');
      expect(message.payload).toBe('embedded round trip');
      expect(message.qos).toBe(1);

      broker.stdin.write('stop\n');
      expect((await nextEvent()).event).toBe('stopped');
      // The child has no process.exit() after stop(), so it exits only if stop() left no open handle.
      expect(await withTimeout(exited, 10_000, 'the embedded broker child to exit after stop()')).toBe(0);
      expect(await canConnect(started.port!)).toBe(false);
    } finally {
      child.process?.kill('SIGKILL');
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

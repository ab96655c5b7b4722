import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ManagedProcess } from '../../dev-stack/managed-process';
import { findFreePort } from '../../dev-stack/ports';
import { PROJECT_ROOT } from './compile-with-tsc';

/** Where the engine's processes find their servers. */
export interface ServerAddresses {
  temporalAddress: string;
  mongoUrl: string;
  mqttUrl: string;
}

export type EngineRole = 'worker' | 'bridge' | 'api';

/**
 * The engine's processes started from the compiled output (`npm run build`), as in production, so tests
 * can kill one with SIGKILL and start it again. Each process logs JSON lines into `<dataDir>/<name>.log`.
 */
export class ProcessEngine {
  readonly apiUrl: string;
  readonly client: Client;
  private readonly processes = new Map<string, ManagedProcess>();

  private constructor(
    private readonly options: { dataDir: string; servers: ServerAddresses; database: string; taskQueue: string; apiPort: number; env: Record<string, string> },
    private readonly connection: Connection,
  ) {
    this.apiUrl = `http://127.0.0.1:${options.apiPort}`;
    this.client = new Client({ connection, namespace: 'default' });
  }

  static async create(options: {
    dataDir: string;
    servers: ServerAddresses;
    label: string;
    /** Extra environment for every process, such as BRIDGE_CONNECTIONS. */
    env?: Record<string, string>;
  }): Promise<ProcessEngine> {
    for (const role of ['worker', 'bridge', 'api'] as const) {
      const entry = path.join(PROJECT_ROOT, 'dist', role, 'main.js');
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build (scripts/test does) before these tests`);
    }
    mkdirSync(options.dataDir, { recursive: true });
    const connection = await Connection.connect({ address: options.servers.temporalAddress });
    return new ProcessEngine(
      {
        dataDir: options.dataDir,
        servers: options.servers,
        database: `ota_${options.label.replace(/[^A-Za-z0-9_]/g, '_')}`,
        taskQueue: `faults-${options.label}`,
        apiPort: await findFreePort(),
        env: options.env ?? {},
      },
      connection,
    );
  }

  /** Starts a process of the role under `name` (default: the role), waiting until it logs that it started. */
  async start(role: EngineRole, name: string = role, env: Record<string, string> = {}): Promise<ManagedProcess> {
    const existing = this.processes.get(name);
    if (existing) {
      await existing.start();
      return existing;
    }
    const process = new ManagedProcess({
      name,
      command: globalThis.process.execPath,
      args: [path.join(PROJECT_ROOT, 'dist', role, 'main.js')],
      dataDir: this.options.dataDir,
      env: { ...this.environment(), ...env },
      probeReady: () => this.probe(role, name),
      startTimeoutMs: 60_000,
      stopGraceMs: 20_000,
    });
    this.processes.set(name, process);
    await process.start();
    return process;
  }

  /** Starts one worker, one bridge and the API. */
  async startAll(): Promise<void> {
    await this.start('worker');
    await this.start('bridge');
    await this.start('api');
  }

  process(name: string): ManagedProcess {
    const found = this.processes.get(name);
    if (!found) throw new Error(`no engine process named ${name}`);
    return found;
  }

  /** Lines the process logged, parsed; lines that are not JSON are skipped. */
  logLines(name: string): Record<string, unknown>[] {
    const file = path.join(this.options.dataDir, `${name}.log`);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((process) => process.stop()));
    await this.connection.close();
  }

  private environment(): Record<string, string> {
    const { servers } = this.options;
    return {
      PATH: globalThis.process.env.PATH ?? '',
      TEMPORAL_ADDRESS: servers.temporalAddress,
      TEMPORAL_TASK_QUEUE: this.options.taskQueue,
      MONGO_URL: servers.mongoUrl,
      MONGO_DB: this.options.database,
      MQTT_URL: servers.mqttUrl,
      MQTT_CLIENT_ID_PREFIX: `eng-${this.options.taskQueue}`.slice(0, 32),
      HTTP_PORT: String(this.options.apiPort),
      // The API process rejects a start without tokens; these tests call it without any, on loopback.
      API_AUTH: 'disabled',
      LOG_LEVEL: 'info',
      BRIDGE_CONNECTIONS: '4',
      BRIDGE_PROGRESS_SIGNAL_INTERVAL_MS: '1000',
      ...this.options.env,
    };
  }

  // A process is ready once it logged its start line since its latest start.
  private async probe(role: EngineRole, name: string): Promise<void> {
    const expected = { worker: 'worker started', bridge: 'bridge started', api: 'API started' }[role];
    const log = path.join(this.options.dataDir, `${name}.log`);
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const sinceStart = text.slice(text.lastIndexOf('=== '));
    if (!sinceStart.includes(`"msg":"${expected}"`)) throw new Error(`${name} has not logged '${expected}' yet`);
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EmbeddedBrokerOptions } from '../../dev-stack/servers/embedded-broker';
import { PROJECT_ROOT } from '../support/compile-with-tsc';

// Jest cannot import() the ESM-only aedes (see test/support/servers.test.ts), so the broker runs in a
// plain Node child process from the launcher that compileWithTsc emits. The child takes the broker's
// options as JSON, logs to stderr, reports events as JSON lines on stdout and obeys commands on stdin.
const CHILD_SCRIPT = `
const { startEmbeddedBroker } = require(process.argv[1]);
const pino = require('pino');
const options = JSON.parse(process.argv[2]);
const report = (event) => process.stdout.write(JSON.stringify(event) + '\\n');
startEmbeddedBroker({ ...options, logger: pino({ level: 'debug' }, pino.destination(2)) }).then((broker) => {
  report({ event: 'started', url: broker.url, port: broker.port });
  require('node:readline').createInterface({ input: process.stdin }).on('line', (command) => {
    if (command === 'admit') {
      broker.admitDevices();
      report({ event: 'admitted' });
    } else if (command === 'rss') {
      global.gc?.();
      report({ event: 'rss', bytes: process.memoryUsage().rss });
    } else if (command === 'stop') {
      process.stdin.destroy();
      broker.stop().then(() => report({ event: 'stopped' }));
    }
  });
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

export interface BrokerEvent {
  event: string;
  url?: string;
  port?: number;
  bytes?: number;
}

/** An embedded broker running in a child process, driven by the test. */
export class BrokerChild {
  private stderrText = '';
  private readonly events: AsyncIterator<string>;
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrText += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.events = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  /** Starts a broker child from the compiled launcher and resolves with it and its URL once it listens. */
  static async start(compiledLauncher: string, options: Omit<EmbeddedBrokerOptions, 'logger'>): Promise<{ broker: BrokerChild; url: string; port: number }> {
    const child = spawn(process.execPath, ['--expose-gc', '-e', CHILD_SCRIPT, compiledLauncher, JSON.stringify(options)], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const broker = new BrokerChild(child);
    const started = await broker.nextEvent();
    if (started.event !== 'started') throw new Error(`broker child reported ${started.event} instead of started`);
    return { broker, url: started.url!, port: started.port! };
  }

  /** The child's log lines so far. */
  get stderr(): string {
    return this.stderrText;
  }

  send(command: 'admit' | 'rss' | 'stop'): void {
    this.child.stdin!.write(`${command}\n`);
  }

  async nextEvent(timeoutMs = 15_000): Promise<BrokerEvent> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event from the broker child within ${timeoutMs} ms; stderr:\n${this.stderrText}`)), timeoutMs);
    });
    try {
      const line = await Promise.race([this.events.next(), timeout]);
      if (line.done === true) throw new Error(`the broker child closed stdout; stderr:\n${this.stderrText}`);
      return JSON.parse(line.value) as BrokerEvent;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a command and returns the next event. */
  async request(command: 'admit' | 'rss' | 'stop'): Promise<BrokerEvent> {
    this.send(command);
    return this.nextEvent();
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

/** Root of the compiled output: this file runs as dist/bench/node-process.js. */
export const DIST_DIR = path.resolve(__dirname, '..');

export interface NodeProcessOptions {
  /** Short name for messages, such as 'worker'. */
  name: string;
  /** Script path relative to dist/, such as 'worker/main.js'. */
  script: string;
  args?: readonly string[];
  env: NodeJS.ProcessEnv;
  /** File that receives the process's stdout and stderr. */
  logPath: string;
  /** Extra options for the node binary, such as a larger heap. */
  execArgv?: readonly string[];
}

let cpuProfileDir: string | undefined;

/** Makes every process started from now on write a V8 CPU profile into `dir` when it exits. */
export function profileProcessesInto(dir: string): void {
  cpuProfileDir = path.resolve(dir);
}

// Children still running. The 'exit' handler kills them, because a benchmark that dies must not leave
// load on a machine that others share. It cannot wait, so SIGKILL is the only sure signal.
const running = new Set<NodeProcess>();
let exitHandlerInstalled = false;

/**
 * A Node.js child process with an IPC channel, its own process group (so a terminal's Ctrl-C reaches only
 * the benchmark, which then stops its children in order), and its output in a log file.
 */
export class NodeProcess {
  readonly name: string;
  readonly logPath: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(options: NodeProcessOptions) {
    this.name = options.name;
    this.logPath = options.logPath;
    const logFd = openSync(options.logPath, 'a');
    try {
      this.child = fork(path.join(DIST_DIR, options.script), [...(options.args ?? [])], {
        env: options.env,
        execArgv: [...(options.execArgv ?? []), ...profileArgs(options.name)],
        stdio: ['ignore', logFd, logFd, 'ipc'],
        detached: true,
      });
    } finally {
      closeSync(logFd);
    }
    running.add(this);
    installExitHandler();
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid: its spawn failed (see ${this.logPath})`);
    return this.child.pid;
  }

  get isRunning(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(message: unknown): void {
    if (this.child.connected) this.child.send(message as object);
  }

  /** Resolves with the first IPC message that `accept` maps to a value; rejects if the process exits first. */
  waitForMessage<T>(accept: (message: unknown) => T | undefined, abort?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        const value = accept(message);
        if (value === undefined) return;
        cleanUp();
        resolve(value);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanUp();
        reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) before sending the expected message; see ${this.logPath}`));
      };
      const onAbort = () => {
        cleanUp();
        reject(abort?.reason instanceof Error ? abort.reason : new Error('interrupted'));
      };
      const cleanUp = () => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        abort?.removeEventListener('abort', onAbort);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      if (abort?.aborted) onAbort();
      else abort?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sends SIGTERM and waits up to `graceMs` for the exit, then SIGKILL. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.isRunning) return;
    this.signalGroup('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(resolve, graceMs, 'expired');
    });
    const outcome = await Promise.race([this.exited, expired]);
    clearTimeout(timer);
    if (outcome === 'expired') {
      process.stderr.write(`[bench] ${this.name} (pid ${this.child.pid}) did not stop within ${graceMs} ms; sending SIGKILL\n`);
      this.signalGroup('SIGKILL');
      await this.exited;
    }
  }

  /** Signals the child's process group, which also reaches anything the child started. */
  signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.signalGroup('SIGKILL');
  });
}

/** Returns the Node.js options that write CPU profiles of a process; NODE_OPTIONS may not carry them. */
function profileArgs(name: string): string[] {
  if (cpuProfileDir === undefined) return [];
  // One folder per process: Node.js names each file by pid and thread, and workflows run in worker threads.
  const dir = path.join(cpuProfileDir, name);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

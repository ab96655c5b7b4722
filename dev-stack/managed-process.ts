import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger';

export interface ManagedProcessOptions {
  /** Short server name for messages and the log file name, such as 'temporal'. */
  name: string;
  command: string;
  args: readonly string[];
  /** Working folder of the process; `<name>.log` in it receives the process's stdout and stderr. */
  dataDir: string;
  /** Environment of the process; defaults to the parent's. */
  env?: NodeJS.ProcessEnv;
  /** Rejects while the server cannot serve requests yet and resolves once it can. Called until it resolves. */
  probeReady: () => Promise<void>;
  /** Time for the process to become ready, in milliseconds. */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping, in milliseconds. */
  stopGraceMs?: number;
  /** Pause between readiness probes, in milliseconds. */
  probeIntervalMs?: number;
  logger?: Logger;
}

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_PROBE_INTERVAL_MS = 100;
const LOG_TAIL_LINES = 30;

// Children still running, which the 'exit' handler kills so that no server outlives this process.
const runningChildren = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function registerChild(child: ChildProcess): void {
  runningChildren.add(child);
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // An 'exit' handler may run only synchronous code, so it cannot wait for a graceful stop. SIGKILL is the
  // one signal that surely ends the child, and SQLite (Temporal, FerretDB) recovers from it on restart.
  // NOTE: 'exit' does not fire when this process dies of SIGKILL or of a signal it has no handler for,
  // such as SIGTERM. A program that must stop its servers on those signals has to handle them itself.
  process.on('exit', () => {
    for (const running of runningChildren) running.kill('SIGKILL');
  });
}

/**
 * A server child process with its output appended to a log file in its data folder. It starts, waits
 * for readiness, stops gracefully, can be killed for fault tests, and restarts with the same command,
 * so with the same ports and data.
 */
export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  private child: ChildProcess | undefined;
  private exitStatus: Promise<ExitStatus> | undefined;
  private stopping: Promise<void> | undefined;
  private exitExpected = false;
  private lastStartDurationMs: number | undefined;

  constructor(private readonly options: ManagedProcessOptions) {
    this.name = options.name;
    this.logPath = path.join(options.dataDir, `${options.name}.log`);
  }

  /** Creates a ManagedProcess and starts it; rejects if it does not become ready in time. */
  static async start(options: ManagedProcessOptions): Promise<ManagedProcess> {
    const managed = new ManagedProcess(options);
    await managed.start();
    return managed;
  }

  get pid(): number | undefined {
    return this.isRunning ? this.child?.pid : undefined;
  }

  get isRunning(): boolean {
    const child = this.child;
    // A child whose spawn failed has no pid and never gets an exit code.
    return child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Milliseconds from spawn to readiness in the latest successful start. */
  get startDurationMs(): number | undefined {
    return this.lastStartDurationMs;
  }

  /**
   * Spawns the process and waits until `probeReady` resolves. On timeout or early exit it kills the
   * process and rejects with the last lines of its log.
   */
  async start(): Promise<void> {
    if (this.isRunning) {
      throw new Error(`${this.name} is already running (pid ${this.child?.pid}); stop it before starting it again`);
    }
    const startedAt = Date.now();
    const spawned = this.spawnChild();
    try {
      await spawned;
      await this.waitUntilReady(startedAt);
    } catch (error) {
      await this.kill();
      throw error;
    }
    this.lastStartDurationMs = Date.now() - startedAt;
    this.options.logger?.info({ server: this.name, pid: this.child?.pid, startMs: this.lastStartDurationMs }, 'server ready');
  }

  /** Sends SIGTERM, then SIGKILL if the process has not exited after the grace period; resolves on exit. */
  stop(): Promise<void> {
    if (!this.isRunning) return Promise.resolve();
    this.stopping ??= this.terminate().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** Sends SIGKILL, as a crash would, and resolves once the process has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.isRunning) return;
    this.options.logger?.info({ server: this.name, pid: child.pid }, 'killing server with SIGKILL');
    this.exitExpected = true;
    child.kill('SIGKILL');
    await this.exitStatus;
  }

  /** Stops the process if it runs and starts it again with the same command, ports and data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Returns the last lines of the process's log file, or a note when the file cannot be read. */
  readLogTail(lineCount = LOG_TAIL_LINES): string {
    try {
      const lines = readFileSync(this.logPath, 'utf8').trimEnd().split('\n');
      return lines.slice(-lineCount).join('\n');
    } catch (error) {
      return `(log ${this.logPath} could not be read: ${(error as Error).message})`;
    }
  }

  // Resolves on the child's 'spawn' event and rejects when the spawn fails, so no probe runs before that.
  private spawnChild(): Promise<void> {
    const { command, args, dataDir, env } = this.options;
    // A header per start keeps the output of each run apart after restarts.
    appendFileSync(this.logPath, `\n=== ${new Date().toISOString()} starting: ${command} ${args.join(' ')}\n`);

    // The child writes straight into the file, so its log stays complete even if this process dies.
    const logFd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd: dataDir, env: env ?? process.env, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }

    this.child = child;
    this.exitExpected = false;
    this.lastStartDurationMs = undefined;
    this.exitStatus = this.watchExit(child);
    registerChild(child);
    this.options.logger?.info({ server: this.name, pid: child.pid, log: this.logPath }, 'server starting');

    return new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => {
        if (child.pid === undefined) reject(new Error(`${this.name} could not be started from ${command}: ${error.message}; check that the file exists and is executable`));
      });
    });
  }

  private watchExit(child: ChildProcess): Promise<ExitStatus> {
    return new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, signal) => {
        runningChildren.delete(child);
        if (!this.exitExpected) {
          this.options.logger?.warn({ server: this.name, pid: child.pid, code, signal, log: this.logPath }, 'server exited unexpectedly');
        }
        resolve({ code, signal });
      });

      // 'error' without 'exit' happens when the spawn itself fails, for example on a missing binary.
      child.once('error', (error) => {
        if (child.pid !== undefined) return;
        runningChildren.delete(child);
        appendFileSync(this.logPath, `=== spawn failed: ${error.message}\n`);
        resolve({ code: null, signal: null });
      });
    });
  }

  private async waitUntilReady(startedAt: number): Promise<void> {
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const intervalMs = this.options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    const deadline = startedAt + timeoutMs;
    const exited = this.exitStatus!.then((status) => ({ kind: 'exited' as const, status }));
    let lastProbeError = 'no probe finished';

    while (Date.now() < deadline) {
      const probe = this.options.probeReady().then(
        () => ({ kind: 'ready' as const }),
        (error: unknown) => ({ kind: 'not-ready' as const, error }),
      );
      const timer = startTimer(deadline - Date.now(), { kind: 'timeout' as const });
      const outcome = await Promise.race([probe, exited, timer.elapsed]);
      timer.cancel();
      if (outcome.kind === 'ready') return;
      if (outcome.kind === 'exited') {
        const { code, signal } = outcome.status;
        throw new Error(
          `${this.name} exited before it became ready (exit code ${code}, signal ${signal}); last lines of ${this.logPath}:\n${this.readLogTail()}`,
        );
      }
      if (outcome.kind === 'not-ready') lastProbeError = describeError(outcome.error);
      if (outcome.kind === 'timeout') break;
      await sleep(intervalMs);
    }
    throw new Error(
      `${this.name} (pid ${this.child?.pid}) did not become ready within ${timeoutMs} ms (raise startTimeoutMs if it is only slow); ` +
        `last probe error: ${lastProbeError}; last lines of ${this.logPath}:\n${this.readLogTail()}`,
    );
  }

  private async terminate(): Promise<void> {
    const child = this.child!;
    const graceMs = this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.options.logger?.info({ server: this.name, pid: child.pid }, 'stopping server');
    this.exitExpected = true;
    child.kill('SIGTERM');
    const timer = startTimer(graceMs, 'grace-expired' as const);
    const outcome = await Promise.race([this.exitStatus!, timer.elapsed]);
    timer.cancel();
    if (outcome !== 'grace-expired') return;
    this.options.logger?.warn({ server: this.name, pid: child.pid, graceMs }, 'server ignored SIGTERM; sending SIGKILL');
    child.kill('SIGKILL');
    await this.exitStatus;
  }
}

// Unlike timers/promises' setTimeout, the timer can be cleared, so a settled race leaves no timer keeping Node alive.
function startTimer<T>(delayMs: number, value: T): { elapsed: Promise<T>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<T>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, delayMs), value);
  });
  return { elapsed, cancel: () => clearTimeout(timer) };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

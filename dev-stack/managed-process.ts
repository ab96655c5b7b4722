import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger';
import { formatStartHeader, readLatestRunTail } from './server-log';

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
  /**
   * Runs the process in a process group of its own, so the SIGINT that a terminal's Ctrl-C sends to its
   * foreground group does not reach it and the caller decides when it stops. Off by default. A caller
   * that turns it on must handle SIGINT, SIGTERM and SIGHUP itself, because this module kills its
   * children in an 'exit' handler, and Node skips those when a signal without a handler ends it.
   */
  detached?: boolean;
  /** Aborting it during `start()` stops the process and makes `start()` reject with a StartAbortedError. */
  signal?: AbortSignal;
  logger?: Logger;
}

/** Error of a `start()` that its abort signal ended before the process became ready. */
export class StartAbortedError extends Error {
  constructor(readonly server: string) {
    super(`start of ${server} was interrupted before it became ready`);
    this.name = 'StartAbortedError';
  }
}

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_PROBE_INTERVAL_MS = 100;
const LOG_TAIL_LINES = 30;

// Children still running, each with whether it leads its own process group, which the 'exit' handler
// kills so that no server outlives this process.
const runningChildren = new Map<ChildProcess, boolean>();
let exitHandlerInstalled = false;

function registerChild(child: ChildProcess, detached: boolean): void {
  runningChildren.set(child, detached);
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // An 'exit' handler may run only synchronous code, so it cannot wait for a graceful stop. SIGKILL is the
  // one signal that surely ends the child, and SQLite (Temporal, FerretDB) recovers from it on restart.
  // NOTE: 'exit' does not fire when this process dies of SIGKILL or of a signal it has no handler for,
  // such as SIGTERM. A program that must stop its servers on those signals has to handle them itself.
  process.on('exit', () => {
    for (const [running, detached] of runningChildren) signalChild(running, 'SIGKILL', detached);
  });
}

// A detached child leads its own process group, and signalling the group also reaches any process the
// server started itself. The group may be gone already, which leaves the child to signal directly.
function signalChild(child: ChildProcess, signal: NodeJS.Signals, detached: boolean): void {
  if (detached && child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal);
      return;
    } catch {
      // The group has no process left, and child.kill below does nothing for a child that has exited.
    }
  }
  child.kill(signal);
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
   * process and rejects with the last lines of its log. When the `signal` option aborts first, it stops
   * the process gracefully and rejects with a StartAbortedError.
   */
  async start(): Promise<void> {
    if (this.isRunning) {
      throw new Error(`${this.name} is already running (pid ${this.child?.pid}); stop it before starting it again`);
    }
    if (this.options.signal?.aborted === true) throw new StartAbortedError(this.name);
    const startedAt = Date.now();
    const spawned = this.spawnChild();
    try {
      await spawned;
      await this.waitUntilReady(startedAt);
    } catch (error) {
      if (error instanceof StartAbortedError) await this.stop();
      else await this.kill();
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
    this.sendSignal('SIGKILL');
    await this.exitStatus;
  }

  /** Stops the process if it runs and starts it again with the same command, ports and data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Returns the last lines that the latest start wrote to the process's log file, without the output
   * of earlier runs, or a note when the file cannot be read.
   */
  readLogTail(lineCount = LOG_TAIL_LINES): string {
    try {
      return readLatestRunTail(this.logPath, lineCount);
    } catch (error) {
      return `(log ${this.logPath} could not be read: ${(error as Error).message})`;
    }
  }

  private sendSignal(signal: NodeJS.Signals): void {
    signalChild(this.child!, signal, this.options.detached === true);
  }

  // Resolves on the child's 'spawn' event and rejects when the spawn fails, so no probe runs before that.
  private spawnChild(): Promise<void> {
    const { command, args, dataDir, env } = this.options;
    const detached = this.options.detached === true;
    // A header per start keeps the output of each run apart after restarts.
    appendFileSync(this.logPath, formatStartHeader(command, args));

    // The child writes straight into the file, so its log stays complete even if this process dies.
    const logFd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd: dataDir, env: env ?? process.env, stdio: ['ignore', logFd, logFd], detached });
    } finally {
      closeSync(logFd);
    }

    this.child = child;
    this.exitExpected = false;
    this.lastStartDurationMs = undefined;
    this.exitStatus = this.watchExit(child);
    registerChild(child, detached);
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
    const aborted = waitForAbort(this.options.signal);
    let lastProbeError = 'no probe finished';

    try {
      while (Date.now() < deadline) {
        const probe = this.options.probeReady().then(
          () => ({ kind: 'ready' as const }),
          (error: unknown) => ({ kind: 'not-ready' as const, error }),
        );
        const timer = startTimer(deadline - Date.now(), { kind: 'timeout' as const });
        const outcome = await Promise.race([probe, exited, timer.elapsed, aborted.promise]);
        timer.cancel();
        if (outcome.kind === 'aborted') throw new StartAbortedError(this.name);
        if (outcome.kind === 'ready') return;
        if (outcome.kind === 'exited') {
          const { code, signal } = outcome.status;
          throw new Error(
            `${this.name} exited before it became ready (exit code ${code}, signal ${signal}); last lines of ${this.logPath}:\n${this.readLogTail()}`,
          );
        }
        if (outcome.kind === 'not-ready') lastProbeError = describeError(outcome.error);
        if (outcome.kind === 'timeout') break;
        await Promise.race([sleep(intervalMs), aborted.promise]);
      }
    } finally {
      aborted.dispose();
    }
    if (this.options.signal?.aborted === true) throw new StartAbortedError(this.name);
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
    this.sendSignal('SIGTERM');
    const timer = startTimer(graceMs, 'grace-expired' as const);
    const outcome = await Promise.race([this.exitStatus!, timer.elapsed]);
    timer.cancel();
    if (outcome !== 'grace-expired') return;
    this.options.logger?.warn({ server: this.name, pid: child.pid, graceMs }, 'server ignored SIGTERM; sending SIGKILL');
    this.sendSignal('SIGKILL');
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

// Resolves when `signal` aborts. `dispose()` removes the listener, so a long-lived signal does not collect them.
function waitForAbort(signal: AbortSignal | undefined): { promise: Promise<{ kind: 'aborted' }>; dispose: () => void } {
  if (signal === undefined) return { promise: new Promise(() => undefined), dispose: () => undefined };
  let onAbort: () => void = () => undefined;
  const promise = new Promise<{ kind: 'aborted' }>((resolve) => {
    onAbort = () => resolve({ kind: 'aborted' });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

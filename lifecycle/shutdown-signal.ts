import { constants } from 'node:os';
import { ConfigError } from '../config/env';
import type { Logger } from '../observability/logger';
import { exitForInvalidConfiguration } from './invalid-configuration';

/** Resolves with the first SIGINT or SIGTERM the process receives, after logging it. */
export function waitForShutdownSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      logger.info({ signal }, 'shutdown requested');
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export interface ShutdownSignalWatch {
  /** Resolves with the first signal received. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Aborted on the first signal, for operations that accept an AbortSignal. */
  readonly abortSignal: AbortSignal;
  /** Removes the signal handlers. */
  dispose(): void;
}

export interface WatchShutdownSignalsOptions {
  logger: Logger;
  /** Signals that request a shutdown, SIGINT and SIGTERM by default. */
  signals?: readonly NodeJS.Signals[];
  /** Called on every signal after the first while the orderly shutdown runs. It usually exits at once. */
  onRepeatedSignal: (signal: NodeJS.Signals) => void;
}

/**
 * Watches for shutdown signals and keeps handling them until `dispose()`. The first signal resolves
 * `requested` and aborts `abortSignal`. Later ones call `onRepeatedSignal`, because without a handler
 * Node would die of the signal without running its 'exit' handlers, which stop child processes.
 */
export function watchShutdownSignals(options: WatchShutdownSignalsOptions): ShutdownSignalWatch {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const controller = new AbortController();
  let resolveRequested!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    resolveRequested = resolve;
  });

  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      options.logger.warn({ signal }, 'shutdown signal received again during shutdown');
      options.onRepeatedSignal(signal);
      return;
    }
    options.logger.info({ signal }, 'shutdown requested');
    controller.abort(signal);
    resolveRequested(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);

  return {
    requested,
    abortSignal: controller.signal,
    dispose: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}

/** Returns the shell's exit status for a process ended by `signal`: 128 plus the signal number, 130 for SIGINT. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/**
 * Runs a process's main function and exits with status 0 when it resolves. An invalid setting ends
 * the process with a one-line message and status 2, and any other failure is logged as fatal with status 1.
 */
export function runMain(logger: Logger, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      if (error instanceof ConfigError) exitForInvalidConfiguration(error);
      logger.fatal({ err: error }, 'process failed');
      process.exit(1);
    },
  );
}

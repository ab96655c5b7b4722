import type { Logger } from '../observability/logger';

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

/** Runs a process's main function, logging a failure as fatal and exiting with status 1. */
export function runMain(logger: Logger, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.fatal({ err: error }, 'process failed');
      process.exit(1);
    },
  );
}

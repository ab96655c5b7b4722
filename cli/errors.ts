import { ExitCode } from './cli-io';

/** An expected failure: main prints its message without a stack trace and exits with its code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Invalid command line: an unknown command or option, a missing argument or an invalid value. */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** Help command to suggest, such as `ota campaign --help`. */
    readonly helpCommand = 'ota --help',
  ) {
    super(message, ExitCode.USAGE);
    this.name = 'UsageError';
  }
}

/** An input file that cannot be read or does not contain a valid request. */
export class InputFileError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.USAGE);
    this.name = 'InputFileError';
  }
}

/** Ctrl-C while a request or `watch` was in progress. */
export class InterruptedError extends CliError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.INTERRUPTED);
    this.name = 'InterruptedError';
  }
}

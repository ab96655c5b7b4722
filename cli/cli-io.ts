/** A stream the CLI writes text to; `isTTY` and `columns` are set for a terminal, as on process.stdout. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Everything the CLI reads from or writes to its process, so tests can run it in-process. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** Folder that relative file paths are resolved against. */
  cwd: string;
  /** Aborted on Ctrl-C: requests in progress are abandoned and `watch` stops. */
  signal?: AbortSignal;
}

/** Exit statuses of the `ota` command. */
export const ExitCode = {
  OK: 0,
  /** The API could not be reached, rejected the request, or the watched campaign did not complete. */
  FAILURE: 1,
  /** Invalid command line or input file; nothing was sent. */
  USAGE: 2,
  /** Stopped by Ctrl-C, following the shell's 128 + SIGINT convention. */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

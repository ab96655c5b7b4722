import { ConfigError } from '../config/env';

/** Exit status of a process that stopped because a setting is missing or invalid. */
export const INVALID_CONFIGURATION_EXIT_CODE = 2;

/**
 * Writes the ConfigError's message, which names each bad setting, as one line on stderr and exits with
 * status 2. A stack trace would only point into the settings loader, so none is printed.
 */
export function exitForInvalidConfiguration(error: ConfigError): never {
  process.stderr.write(`${error.message}\n`);
  process.exit(INVALID_CONFIGURATION_EXIT_CODE);
}

/** Returns what `load` returns, or exits as exitForInvalidConfiguration does when it throws a ConfigError. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) exitForInvalidConfiguration(error);
    throw error;
  }
}

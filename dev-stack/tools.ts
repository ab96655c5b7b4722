import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Env = Record<string, string | undefined>;

// These versions must match the ones scripts/provision builds, because the binaries carry them in their names.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const FERRETDB_VERSION = 'v1.24.2';

/** Path of Debian's mosquitto package, which `scripts/provision --mosquitto` installs. */
export const MOSQUITTO_PATH = '/usr/sbin/mosquitto';

/** Error raised when a server binary is not installed; the message names the command that installs it. */
export class ToolMissingError extends Error {
  constructor(
    readonly tool: string,
    readonly expectedPath: string,
    provisionCommand: string,
  ) {
    super(`${tool} not found or not executable at ${expectedPath}; run '${provisionCommand}' to install it`);
    this.name = 'ToolMissingError';
  }
}

/** Returns the folder that scripts/provision builds the server binaries into: $OTA_TOOLS_DIR, else the user's cache. */
export function resolveToolsDir(env: Env = process.env): string {
  const configured = env.OTA_TOOLS_DIR;
  if (configured !== undefined && configured !== '') return path.resolve(configured);
  const cacheHome = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'ota-engine');
}

/** Returns the path of the Temporal CLI, whose `server start-dev` runs the dev server. */
export function resolveTemporalBinary(env: Env = process.env): string {
  const binary = path.join(resolveToolsDir(env), 'bin', `temporal-${TEMPORAL_CLI_VERSION}`);
  return requireExecutable(`Temporal CLI ${TEMPORAL_CLI_VERSION}`, binary, 'scripts/provision');
}

/** Returns the path of the FerretDB server binary. */
export function resolveFerretdbBinary(env: Env = process.env): string {
  const binary = path.join(resolveToolsDir(env), 'bin', `ferretdb-${FERRETDB_VERSION}`);
  return requireExecutable(`FerretDB ${FERRETDB_VERSION}`, binary, 'scripts/provision');
}

/** Returns the path of the Mosquitto broker. */
export function resolveMosquittoBinary(): string {
  return requireExecutable('Mosquitto', MOSQUITTO_PATH, 'scripts/provision --mosquitto');
}

function requireExecutable(tool: string, binary: string, provisionCommand: string): string {
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new ToolMissingError(tool, binary, provisionCommand);
  }
  return binary;
}

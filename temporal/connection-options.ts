import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { TemporalSettings } from '../config/settings';
import { ConfigError } from '../config/env';

/** Connection options shared by the client (`Connection.connect`) and the worker (`NativeConnection.connect`). */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/** Builds connection options from settings, reading TLS files now so a bad path fails at start-up. */
export function temporalConnectionOptions(settings: TemporalSettings): TemporalConnectionOptions {
  if ((settings.tlsCertPath === undefined) !== (settings.tlsKeyPath === undefined)) {
    throw new ConfigError('invalid configuration: TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH must be set together');
  }
  const options: TemporalConnectionOptions = { address: settings.address };
  if (settings.apiKey !== undefined) options.apiKey = settings.apiKey;
  if (!settings.tls) return options;

  const tls: TLSConfig = {};
  if (settings.tlsServerName !== undefined) tls.serverNameOverride = settings.tlsServerName;
  if (settings.tlsCaPath !== undefined) tls.serverRootCACertificate = readSetting('TEMPORAL_TLS_CA_PATH', settings.tlsCaPath);
  if (settings.tlsCertPath !== undefined && settings.tlsKeyPath !== undefined) {
    tls.clientCertPair = {
      crt: readSetting('TEMPORAL_TLS_CERT_PATH', settings.tlsCertPath),
      key: readSetting('TEMPORAL_TLS_KEY_PATH', settings.tlsKeyPath),
    };
  }
  options.tls = Object.keys(tls).length > 0 ? tls : true;
  return options;
}

function readSetting(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${name}: cannot read '${path}' (${(error as Error).message})`);
  }
}

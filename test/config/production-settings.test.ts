import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../config/env';
import {
  DEFAULT_WORKER_SETTINGS,
  loadMongoSettings,
  loadMqttSettings,
  loadTemporalSettings,
  loadUpgradeDefaults,
  loadWorkerSettings,
} from '../../config/settings';
import { temporalConnectionOptions } from '../../temporal/connection-options';

// Settings for production servers: each invalid one stops the process at start-up with the setting named.

let dir: string;
let caFile: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ota-settings-'));
  caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('MQTT settings', () => {
  it('reads TLS files for an mqtts URL', () => {
    const settings = loadMqttSettings({ MQTT_URL: 'mqtts://broker.example:8883', MQTT_CA_PATH: caFile, MQTT_TLS_SERVER_NAME: 'broker' });
    expect(settings.tls?.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(settings.tls?.servername).toBe('broker');
    expect(settings.tls?.rejectUnauthorized).toBe(true);
  });

  it('names a missing TLS file', () => {
    expect(() => loadMqttSettings({ MQTT_URL: 'mqtts://broker.example:8883', MQTT_CA_PATH: path.join(dir, 'missing.pem') })).toThrow(
      /MQTT_CA_PATH: cannot read/,
    );
  });

  it('rejects TLS files with a plain URL', () => {
    expect(() => loadMqttSettings({ MQTT_URL: 'mqtt://broker.example:1883', MQTT_CA_PATH: caFile })).toThrow(/need an mqtts:\/\/ or wss:\/\/ MQTT_URL/);
  });

  it('needs the certificate and its key together', () => {
    expect(() => loadMqttSettings({ MQTT_URL: 'mqtts://broker.example:8883', MQTT_CERT_PATH: caFile })).toThrow(/MQTT_CERT_PATH and MQTT_KEY_PATH/);
  });

  it('rejects an unknown scheme, naming the setting', () => {
    expect(() => loadMqttSettings({ MQTT_URL: 'http://broker.example' })).toThrow(/MQTT_URL: must start with/);
  });

  it('keeps credentials of a URL out of the error', () => {
    let message = '';
    try {
      loadMqttSettings({ MQTT_URL: 'http://user:secret@broker.example' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/MQTT_URL/);
    expect(message).not.toContain('secret');
  });
});

describe('MongoDB settings', () => {
  it('writes with majority unless told otherwise', () => {
    expect(loadMongoSettings({}).writeConcern).toBe('majority');
    expect(loadMongoSettings({ MONGO_WRITE_CONCERN: '1' }).writeConcern).toBe(1);
  });

  it('names an invalid write concern', () => {
    expect(() => loadMongoSettings({ MONGO_WRITE_CONCERN: 'all' })).toThrow(/MONGO_WRITE_CONCERN/);
  });

  it('rejects unacknowledged writes', () => {
    expect(() => loadMongoSettings({ MONGO_WRITE_CONCERN: '0' })).toThrow(/MONGO_WRITE_CONCERN: .*0, unacknowledged writes, is not supported/);
  });

  it('rejects a URL of another scheme without echoing its credentials', () => {
    let error: unknown;
    try {
      loadMongoSettings({ MONGO_URL: 'postgres://admin:hunter2@db.example/ota' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/MONGO_URL/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('Temporal settings', () => {
  it('turns TLS on for an API key and reads certificate files', () => {
    const withKey = temporalConnectionOptions(loadTemporalSettings({ TEMPORAL_ADDRESS: 'ns.example.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key' }));
    expect(withKey.tls).toBe(true);
    expect(withKey.apiKey).toBe('key');
    const withCa = temporalConnectionOptions(loadTemporalSettings({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_CA_PATH: caFile, TEMPORAL_TLS_SERVER_NAME: 'temporal' }));
    expect(withCa.tls).toEqual({ serverNameOverride: 'temporal', serverRootCACertificate: expect.any(Buffer) });
  });

  it('names a missing certificate file and an unpaired key', () => {
    expect(() => temporalConnectionOptions(loadTemporalSettings({ TEMPORAL_TLS_CA_PATH: path.join(dir, 'nope.pem'), TEMPORAL_TLS: 'true' }))).toThrow(
      /TEMPORAL_TLS_CA_PATH: cannot read/,
    );
    expect(() => temporalConnectionOptions(loadTemporalSettings({ TEMPORAL_TLS_CERT_PATH: caFile }))).toThrow(/TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH/);
  });

  it('names an invalid boolean', () => {
    expect(() => loadTemporalSettings({ TEMPORAL_TLS: 'yes' })).toThrow(/TEMPORAL_TLS: expected 'true' or 'false'/);
  });

  it('turns TLS on for a CA or server name', () => {
    expect(loadTemporalSettings({ TEMPORAL_TLS_CA_PATH: caFile }).tls).toBe(true);
    expect(loadTemporalSettings({ TEMPORAL_TLS_SERVER_NAME: 'temporal' }).tls).toBe(true);
    expect(loadTemporalSettings({}).tls).toBe(false);
  });

  it('rejects TLS off with TLS settings', () => {
    expect(() => loadTemporalSettings({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'key' })).toThrow(
      'invalid configuration: TEMPORAL_TLS is false, but TEMPORAL_API_KEY needs TLS; unset TEMPORAL_TLS or TEMPORAL_API_KEY',
    );
    expect(loadTemporalSettings({ TEMPORAL_TLS: 'false' }).tls).toBe(false);
  });

  it('checks the certificate pair before connecting', () => {
    expect(() => loadTemporalSettings({ TEMPORAL_TLS_KEY_PATH: caFile })).toThrow(ConfigError);
  });
});

describe('upgrade defaults', () => {
  it('rejects defaults the workflow would reject', () => {
    expect(() => loadUpgradeDefaults({ OTA_STALL_TIMEOUT_MS: '50' })).toThrow(/OTA_STALL_TIMEOUT_MS/);
    expect(() => loadUpgradeDefaults({ OTA_COMMAND_TTL_MS: String(8 * 24 * 3_600_000) })).toThrow(/OTA_COMMAND_TTL_MS/);
    expect(() => loadUpgradeDefaults({ OTA_RETRY_INITIAL_BACKOFF_MS: '99999999999' })).toThrow(/OTA_RETRY_INITIAL_BACKOFF_MS/);
  });

  it('accepts the limits', () => {
    expect(loadUpgradeDefaults({ OTA_STALL_TIMEOUT_MS: '100', OTA_RETRY_INITIAL_BACKOFF_MS: '0' })).toMatchObject({ stallTimeoutMs: 100, initialBackoffMs: 0 });
  });
});

describe('worker settings', () => {
  it('reads defaults and overrides', () => {
    expect(loadWorkerSettings({})).toEqual(DEFAULT_WORKER_SETTINGS);
    expect(loadWorkerSettings({ WORKER_MAX_WORKFLOW_TASKS: '50', WORKER_WORKFLOW_POLLERS: '8', WORKER_WORKFLOW_THREADS: '1' })).toEqual({
      maxWorkflowTasks: 50,
      workflowPollers: 8,
      workflowThreads: 1,
    });
  });

  it('names a setting out of range', () => {
    expect(() => loadWorkerSettings({ WORKER_MAX_WORKFLOW_TASKS: '1' })).toThrow(/WORKER_MAX_WORKFLOW_TASKS/);
    expect(() => loadWorkerSettings({ WORKER_WORKFLOW_THREADS: 'two' })).toThrow(/WORKER_WORKFLOW_THREADS/);
  });
});

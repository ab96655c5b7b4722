import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/compile-with-tsc';

// The production-like compose file, validated by docker-compose (no container engine runs here). The
// check also keeps the engine services' environment in line with the settings the processes read.

const COMPOSE = '/usr/bin/docker-compose';
const COMPOSE_FILE = path.join(PROJECT_ROOT, 'deploy', 'compose.yaml');
const available = existsSync(COMPOSE);
if (!available) console.warn(`skipping the compose file tests: ${COMPOSE} is missing; run 'scripts/provision --compose' to install it`);
const describeWithCompose = available ? describe : describe.skip;

function composeConfig(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'ota-compose-'));
  try {
    const envFile = path.join(dir, 'env');
    writeFileSync(envFile, Object.entries(env).map(([name, value]) => `${name}=${value}`).join('\n'));
    const result = spawnSync(COMPOSE, ['-f', COMPOSE_FILE, '--env-file', envFile, 'config'], { encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SECRETS = { TEMPORAL_DB_PASSWORD: 'example', OTA_WORKER_MQTT_PASSWORD: 'example', OTA_BRIDGE_MQTT_PASSWORD: 'example' };

describeWithCompose('deploy/compose.yaml', () => {
  it('is valid with its secrets set', () => {
    const result = composeConfig(SECRETS);
    expect(result.stderr).not.toMatch(/invalid|error/i);
    expect(result.status).toBe(0);
    const services = Object.keys((parse(result.stdout) as { services: Record<string, unknown> }).services).sort();
    expect(services).toEqual(
      ['mongo-1', 'mongo-2', 'mongo-3', 'mongo-setup', 'mosquitto', 'ota-api', 'ota-bridge', 'ota-worker', 'postgresql', 'temporal', 'temporal-setup', 'temporal-ui'].sort(),
    );
  });

  it('names a missing secret', () => {
    const result = composeConfig({ ...SECRETS, OTA_BRIDGE_MQTT_PASSWORD: '' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/OTA_BRIDGE_MQTT_PASSWORD/);
  });

  it('sets only settings the engine reads', () => {
    const config = parse(composeConfig(SECRETS).stdout) as { services: Record<string, { environment?: Record<string, string> }> };
    const settingsSource = readFileSync(path.join(PROJECT_ROOT, 'config', 'settings.ts'), 'utf8');
    // Setting names appear as keys of the zod shapes (`NAME:`) or as quoted names (`'NAME'`).
    const known = new Set([...settingsSource.matchAll(/\b([A-Z][A-Z0-9_]{2,})(?=: |')/g)].map((match) => match[1]));
    for (const service of ['ota-api', 'ota-bridge', 'ota-worker']) {
      const unknown = Object.keys(config.services[service]?.environment ?? {}).filter((name) => !known.has(name));
      expect({ service, unknown }).toEqual({ service, unknown: [] });
    }
  });

  it('registers every search attribute the workflows use', () => {
    const compose = readFileSync(COMPOSE_FILE, 'utf8');
    const source = readFileSync(path.join(PROJECT_ROOT, 'workflows', 'search-attributes.ts'), 'utf8');
    const attributes = [...source.matchAll(/defineSearchAttributeKey\('(\w+)', SearchAttributeType\.(\w+)\)/g)];
    expect(attributes.length).toBeGreaterThan(0);
    for (const [, name, type] of attributes) {
      const cliType = type === 'KEYWORD' ? 'Keyword' : type === 'INT' ? 'Int' : type;
      expect({ name, registered: compose.includes(`${name}:${cliType}`) }).toEqual({ name, registered: true });
    }
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tokenDigest } from '../../api/auth/api-token';
import { ConfigError } from '../../config/env';
import { loadApiSecuritySettings } from '../../config/settings';
import { newToken } from './secured-api';

// API_AUTH, API_TOKENS, API_TOKENS_FILE and the other security settings as the API process loads them.

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'ota-token-settings-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Returns the ConfigError that loading `env` throws, failing the test when it loads. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadApiSecuritySettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loading ${Object.keys(env).join(', ')} succeeded, expected a ConfigError`);
}

async function tokenFile(name: string, text: string): Promise<string> {
  const file = path.join(folder, name);
  await writeFile(file, text);
  return file;
}

describe('loadApiSecuritySettings', () => {
  it('rejects a start without tokens', () => {
    const error = configError({});
    expect(error.message).toContain('the API has no tokens');
    expect(error.message).toContain('API_TOKENS');
    expect(error.message).toContain('API_TOKENS_FILE');
    expect(error.message).toContain('API_AUTH=disabled');
  });

  it('disables authentication only with API_AUTH=disabled', () => {
    const settings = loadApiSecuritySettings({ API_AUTH: 'disabled' });
    expect(settings.auth).toEqual({ mode: 'disabled' });
    expect(settings.healthAccess).toBe('open');
    expect(settings.metricsAccess).toBe('open');
    expect(settings.rateLimit).toEqual({ perSecond: 50, burst: 100 });
  });

  it('reads API_TOKENS entries with names and roles', () => {
    const read = newToken();
    const operator = newToken();
    const settings = loadApiSecuritySettings({ API_TOKENS: ` grafana:read:${read} , ci:operator:${operator},` });
    if (settings.auth.mode !== 'tokens') throw new Error('expected tokens');
    expect(settings.auth.tokens.map((token) => [token.name, token.role, token.source])).toEqual([
      ['grafana', 'read', 'API_TOKENS entry 1'],
      ['ci', 'operator', 'API_TOKENS entry 2'],
    ]);
    expect(settings.auth.tokens[0]!.digest.equals(tokenDigest(read))).toBe(true);
  });

  it('keeps no token text in the settings', () => {
    const secret = newToken();
    const settings = loadApiSecuritySettings({ API_TOKENS: `grafana:read:${secret}` });
    expect(JSON.stringify(settings)).not.toContain(secret);
  });

  it('rejects a short token without showing it', () => {
    const short = 'abcdefghijklmnopqrstuvwxyz01234'; // 31 characters
    const error = configError({ API_TOKENS: `grafana:read:${newToken()},ci:operator:${short}` });
    expect(error.message).toContain('API_TOKENS entry 2');
    expect(error.message).toContain("token 'ci' has 31 characters, but at least 32 are required");
    expect(error.message).not.toContain(short);
  });

  it('accepts a token of exactly 32 characters', () => {
    const settings = loadApiSecuritySettings({ API_TOKENS: `ci:operator:${'a1'.repeat(16)}` });
    expect(settings.auth.mode).toBe('tokens');
  });

  it('rejects an unknown role', () => {
    const error = configError({ API_TOKENS: `ci:admin:${newToken()}` });
    expect(error.message).toContain('API_TOKENS entry 1');
    expect(error.message).toContain("unknown role 'admin': expected read or operator");
  });

  it('does not show a token written as the role', () => {
    const secret = newToken();
    const error = configError({ API_TOKENS: `ci:${secret}:read` });
    expect(error.message).toContain('unknown role of 64 characters');
    expect(error.message).not.toContain(secret);
  });

  it('rejects an entry that is not name:role:token', () => {
    const secret = newToken();
    const error = configError({ API_TOKENS: `ci-${secret}` });
    expect(error.message).toContain('API_TOKENS entry 1 is not of the form name:role:token');
    expect(error.message).not.toContain(secret);
  });

  it('rejects a token that a bearer header cannot carry', () => {
    const error = configError({ API_TOKENS: `ci:read:${'x'.repeat(30)} "quoted"` });
    expect(error.message).toContain("token 'ci' contains characters that an 'Authorization: Bearer' header cannot carry");
  });

  it('rejects an invalid name', () => {
    const error = configError({ API_TOKENS: `ci bot:read:${newToken()}` });
    expect(error.message).toContain("API_TOKENS entry 1: the name must be 1 to 64 letters, digits, '_', '.' or '-'");
  });

  it('rejects a repeated name', () => {
    const error = configError({ API_TOKENS: `ci:read:${newToken()},ci:operator:${newToken()}` });
    expect(error.message).toContain("API_TOKENS entry 1 and API_TOKENS entry 2 have the same name 'ci'");
  });

  it('rejects a repeated token without showing it', () => {
    const secret = newToken();
    const error = configError({ API_TOKENS: `grafana:read:${secret},ci:operator:${secret}` });
    expect(error.message).toContain("API_TOKENS entry 1 ('grafana') and API_TOKENS entry 2 ('ci') have the same token");
    expect(error.message).not.toContain(secret);
  });

  it('rejects a token repeated across API_TOKENS and API_TOKENS_FILE', async () => {
    const secret = newToken();
    const file = await tokenFile('repeated.json', JSON.stringify([{ name: 'ci', role: 'operator', token: secret }]));
    const error = configError({ API_TOKENS: `grafana:read:${secret}`, API_TOKENS_FILE: file });
    expect(error.message).toContain("API_TOKENS entry 1 ('grafana') and API_TOKENS_FILE entry 1 ('ci') have the same token");
  });

  it('rejects an API_TOKENS of only commas', () => {
    expect(configError({ API_TOKENS: ' , ,' }).message).toContain('API_TOKENS contains no tokens');
  });

  it('reads a JSON token file', async () => {
    const file = await tokenFile('tokens.json', JSON.stringify([{ name: 'grafana', role: 'read', token: newToken() }]));
    const settings = loadApiSecuritySettings({ API_TOKENS_FILE: file });
    if (settings.auth.mode !== 'tokens') throw new Error('expected tokens');
    expect(settings.auth.tokens.map((token) => [token.name, token.role, token.source])).toEqual([['grafana', 'read', 'API_TOKENS_FILE entry 1']]);
  });

  it('reads a YAML token file together with API_TOKENS', async () => {
    const file = await tokenFile('tokens.yaml', `# issued 2026-01\n- name: ci\n  role: operator\n  token: ${newToken()}\n- {name: grafana, role: read, token: "${newToken()}"}\n`);
    const settings = loadApiSecuritySettings({ API_TOKENS_FILE: file, API_TOKENS: `oncall:operator:${newToken()}` });
    if (settings.auth.mode !== 'tokens') throw new Error('expected tokens');
    expect(settings.auth.tokens.map((token) => token.name)).toEqual(['oncall', 'ci', 'grafana']);
  });

  it('names a token file that cannot be read', () => {
    const file = path.join(folder, 'missing.yaml');
    const error = configError({ API_TOKENS_FILE: file });
    expect(error.message).toContain(`API_TOKENS_FILE (${file}) cannot be read (ENOENT)`);
  });

  it('reports a token file that does not parse by position only', async () => {
    const secret = newToken();
    const file = await tokenFile('broken.yaml', `- name: ci\n  role: operator\n  token: "${secret}\n`);
    const error = configError({ API_TOKENS_FILE: file });
    expect(error.message).toMatch(/is not valid JSON or YAML at line \d+, column \d+/);
    expect(error.message).not.toContain(secret);
  });

  it('rejects a token file that is not a list', async () => {
    const file = await tokenFile('object.json', JSON.stringify({ tokens: [] }));
    expect(configError({ API_TOKENS_FILE: file }).message).toContain('expected a list of {name, role, token}');
  });

  it('rejects an unknown key in a token file', async () => {
    const file = await tokenFile('typo.yaml', `- name: ci\n  role: operator\n  tokn: ${newToken()}\n`);
    expect(configError({ API_TOKENS_FILE: file }).message).toContain("entry 1 has unknown keys 'tokn'");
  });

  it('rejects a short token in a token file', async () => {
    const file = await tokenFile('short.json', JSON.stringify([{ name: 'ci', role: 'operator', token: 'short-token' }]));
    const error = configError({ API_TOKENS_FILE: file });
    expect(error.message).toContain("entry 1: token 'ci' has 11 characters, but at least 32 are required");
    expect(error.message).not.toContain('short-token');
  });

  it('rejects tokens together with API_AUTH=disabled', () => {
    const error = configError({ API_AUTH: 'disabled', API_TOKENS: `ci:operator:${newToken()}` });
    expect(error.message).toContain("API_AUTH is 'disabled' but API_TOKENS is set");
  });

  it('rejects protected probes without tokens', () => {
    expect(configError({ API_AUTH: 'disabled', API_AUTH_HEALTH: 'token' }).message).toContain("API_AUTH_HEALTH is 'token' but API_AUTH is 'disabled'");
    expect(configError({ API_AUTH: 'disabled', API_AUTH_METRICS: 'token' }).message).toContain("API_AUTH_METRICS is 'token' but API_AUTH is 'disabled'");
  });

  it('reads probe access and rate limits', () => {
    const settings = loadApiSecuritySettings({
      API_TOKENS: `ci:operator:${newToken()}`,
      API_AUTH_HEALTH: 'token',
      API_AUTH_METRICS: 'token',
      API_RATE_LIMIT_PER_SECOND: '2.5',
      API_RATE_LIMIT_BURST: '10',
    });
    expect(settings.healthAccess).toBe('token');
    expect(settings.metricsAccess).toBe('token');
    expect(settings.rateLimit).toEqual({ perSecond: 2.5, burst: 10 });
  });

  it.each([
    ['API_AUTH', 'off', "API_AUTH: expected 'tokens' or 'disabled'"],
    ['API_AUTH_HEALTH', 'closed', "API_AUTH_HEALTH: expected 'open' or 'token'"],
    ['API_RATE_LIMIT_PER_SECOND', '-1', 'API_RATE_LIMIT_PER_SECOND'],
    ['API_RATE_LIMIT_BURST', '0', 'API_RATE_LIMIT_BURST'],
    ['API_RATE_LIMIT_BURST', '1.5', 'API_RATE_LIMIT_BURST'],
  ])('names the invalid setting %s=%s', (name, value, expected) => {
    expect(configError({ API_AUTH: 'disabled', [name]: value }).message).toContain(expected);
  });
});

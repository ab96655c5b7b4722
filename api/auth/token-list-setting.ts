import { ConfigError } from '../../config/env';
import { createApiToken, type ApiToken } from './api-token';

/**
 * Parses API_TOKENS, a comma-separated list of `name:role:token` entries, into tokens. Spaces around
 * entries and empty entries (a trailing comma) are ignored. Throws ConfigError naming the setting and the
 * entry's position; the message never contains an entry's text, which could hold a token.
 */
export function parseApiTokensSetting(text: string, setting = 'API_TOKENS'): ApiToken[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new ConfigError(`invalid configuration: ${setting} contains no tokens: expected name:role:token,...`);

  return entries.map((entry, index) => {
    const source = `${setting} entry ${index + 1}`;
    const fields = entry.split(':');
    if (fields.length !== 3) {
      throw new ConfigError(`invalid configuration: ${source} is not of the form name:role:token (found ${fields.length} ':'-separated fields, expected 3)`);
    }
    const [name, role, token] = fields;
    try {
      return createApiToken({ name, role, token }, source);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${source}: ${(error as Error).message}`);
    }
  });
}

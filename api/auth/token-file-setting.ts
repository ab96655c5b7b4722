import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../../config/env';
import { createApiToken, type ApiToken } from './api-token';

const EXPECTED_SHAPE = 'expected a list of {name, role, token}, in JSON or YAML';

/**
 * Reads the tokens of API_TOKENS_FILE: a JSON or YAML list of `{name, role, token}` objects. YAML 1.2
 * is a superset of JSON, so one parser reads both. Throws ConfigError naming the setting, the file and
 * the entry; the messages never contain the file's text, which contains tokens.
 */
export function readApiTokensFile(filePath: string, setting = 'API_TOKENS_FILE'): ApiToken[] {
  const where = `${setting} (${filePath})`;
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`invalid configuration: ${where} cannot be read (${code}): set ${setting} to a readable file`);
  }

  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    // The parser's message quotes the offending line, which may hold a token, so only its position is kept.
    const position = (error as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const at = position === undefined ? '' : ` at line ${position.line}, column ${position.col}`;
    throw new ConfigError(`invalid configuration: ${where} is not valid JSON or YAML${at}: ${EXPECTED_SHAPE}`);
  }
  if (!Array.isArray(document)) throw new ConfigError(`invalid configuration: ${where}: ${EXPECTED_SHAPE}`);
  if (document.length === 0) throw new ConfigError(`invalid configuration: ${where} contains no tokens: ${EXPECTED_SHAPE}`);

  return document.map((entry: unknown, index) => {
    const source = `${setting} entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(`invalid configuration: ${where}: entry ${index + 1} is not an object: ${EXPECTED_SHAPE}`);
    }
    // A misspelt key such as 'tokn' would otherwise surface as a missing token.
    const unknownKeys = Object.keys(entry).filter((key) => key !== 'name' && key !== 'role' && key !== 'token');
    if (unknownKeys.length > 0) {
      throw new ConfigError(`invalid configuration: ${where}: entry ${index + 1} has unknown keys ${unknownKeys.map((key) => `'${key.slice(0, 32)}'`).join(', ')}: ${EXPECTED_SHAPE}`);
    }
    const { name, role, token } = entry as Record<string, unknown>;
    try {
      return createApiToken({ name, role, token }, source);
    } catch (error) {
      throw new ConfigError(`invalid configuration: ${where}: entry ${index + 1}: ${(error as Error).message}`);
    }
  });
}

import { z } from 'zod';

/** Error raised at start-up when a setting is missing or invalid; the message names each bad setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses the settings a schema describes from the environment, treating empty strings as unset. */
export function parseEnv<Shape extends z.ZodRawShape>(shape: Shape, env: Env = process.env): z.infer<z.ZodObject<Shape>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = z.object(shape).safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      // Secrets must not reach logs, so the rejected value is shown only for settings that are not secret.
      const value = isSecret(name) ? '' : ` (got '${withoutCredentials(input[name] ?? '')}')`;
      return `${name}: ${issue.message}${value}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Removes the user and password part of a URL, such as mongodb://user:password@host, for messages and logs. */
export function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

function isSecret(name: string): boolean {
  return /PASSWORD|SECRET|TOKEN|API_KEY|_KEY$/.test(name);
}

export const portSchema = z.coerce.number().int().min(0).max(65535);
export const booleanSchema = z
  .enum(['true', 'false', '1', '0'], { error: "expected 'true' or 'false'" })
  .transform((value) => value === 'true' || value === '1');

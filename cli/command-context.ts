import type { ApiClient } from './api-client';
import type { CliIo } from './cli-io';

/** Dependencies of every command handler: the API client, the process's streams and the global options. */
export interface CommandContext {
  api: ApiClient;
  io: CliIo;
  /** Print the API's response as JSON instead of a readable form. */
  json: boolean;
}

/** Writes a response body as indented JSON, for --json. */
export function printJson(context: CommandContext, body: unknown): void {
  context.io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

/** Builds a query string from the values that are set, with a leading '?' when any is. */
export function queryString(values: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

/** Path of a campaign in the API. */
export function campaignPath(id: string): string {
  return `/campaigns/${encodeURIComponent(id)}`;
}

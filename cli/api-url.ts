import { UsageError } from './errors';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/**
 * Resolves the API's base URL from `--api`, then OTA_API_URL, then the default, and validates it. A path
 * is kept as a prefix, so an API behind a proxy at http://host/ota works. The result has no trailing slash.
 */
export function resolveApiUrl(option: string | undefined, env: Record<string, string | undefined>): string {
  const [text, source] =
    option !== undefined ? [option, '--api'] : env.OTA_API_URL ? [env.OTA_API_URL, 'OTA_API_URL'] : [DEFAULT_API_URL, 'the default'];
  const invalid = () => new UsageError(`invalid API URL '${text}' (from ${source}): expected an absolute URL such as ${DEFAULT_API_URL}`);
  // new URL('localhost:3000') succeeds with the scheme 'localhost:', so require the '//' of a host.
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) throw invalid();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid();
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid API URL '${text}' (from ${source}): the scheme must be http or https, not ${url.protocol.slice(0, -1)}`);
  }
  // fetch rejects URLs with credentials; the API takes a bearer token (--token) instead.
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`invalid API URL '${text}' (from ${source}): remove the user name and password`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`invalid API URL '${text}' (from ${source}): remove the query and fragment, the CLI adds its own paths`);
  }
  return url.href.replace(/\/+$/, '');
}

import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Path and query exactly as sent: node:http keeps dot segments and percent-encodings as written. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  contentType: string | undefined;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/**
 * Headers that every fuzz request carries. When the API requires bearer tokens, the Authorization
 * header goes here, for example `{ authorization: `Bearer ${process.env.OTA_TEST_API_TOKEN}` }`.
 */
export function defaultHeaders(): Record<string, string> {
  return {};
}

/**
 * Sends one request with node:http rather than fetch, because fetch normalizes the URL (it removes
 * `.` and `..` segments) and sets its own content type. A body gets its exact content-length.
 */
export function sendRaw(baseUrl: string, request: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, 'utf8');
  const headers: Record<string, string> = { ...defaultHeaders(), ...request.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);

  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: url.hostname, port: url.port, method: request.method, path: request.path, headers, timeout: timeoutMs, agent: false },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: incoming.statusCode ?? 0, contentType: incoming.headers['content-type'], text, json: parseJson(text) });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${request.method} ${request.path.slice(0, 100)} got no response within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

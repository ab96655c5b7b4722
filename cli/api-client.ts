import { CliError, InterruptedError } from './errors';
import { ExitCode } from './cli-io';

/** Default time a request may take, in milliseconds, before the CLI gives up on it. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** One invalid field, as the API lists them in a 400 response. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** The API could not be reached: no server accepted the connection at the address. */
export class ApiUnreachableError extends CliError {
  constructor(
    readonly baseUrl: string,
    readonly reason: string,
  ) {
    super(`could not reach the API at ${baseUrl}: ${reason}; is the stack running? set --api or OTA_API_URL`, ExitCode.FAILURE);
    this.name = 'ApiUnreachableError';
  }
}

/** The API accepted the connection but did not respond within the request timeout. */
export class ApiTimeoutError extends CliError {
  constructor(baseUrl: string, requestLine: string, timeoutMs: number) {
    super(
      `${requestLine} timed out: the API at ${baseUrl} did not respond within ${formatSeconds(timeoutMs)}; ` +
        'check that it and its Temporal and MongoDB servers run, or raise --timeout-ms',
      ExitCode.FAILURE,
    );
    this.name = 'ApiTimeoutError';
  }
}

/** The API responded with status 4xx or 5xx. */
export class ApiError extends CliError {
  constructor(
    readonly requestLine: string,
    readonly status: number,
    /** The API's short error name, such as `conflict`, or the HTTP reason phrase. */
    readonly errorName: string,
    /** The API's message, or the start of a body that was not the API's JSON. */
    readonly apiMessage: string,
    readonly fields: FieldProblem[],
  ) {
    super(formatApiError(requestLine, status, errorName, apiMessage, fields), ExitCode.FAILURE);
    this.name = 'ApiError';
  }
}

/**
 * The API responded 401 or 403: it requires a token and none was sent, the token is not valid, or its
 * role does not allow the request. The message contains the API's reason, never the token.
 */
export class ApiAuthError extends ApiError {
  constructor(requestLine: string, status: number, errorName: string, apiMessage: string, tokenSent: boolean) {
    super(requestLine, status, errorName, apiMessage, []);
    this.name = 'ApiAuthError';
    this.message = tokenSent
      ? `the API rejected the token: ${apiMessage} (${requestLine}, ${status}); check --token or OTA_API_TOKEN`
      : `the API requires a token: ${apiMessage} (${requestLine}, ${status}); set OTA_API_TOKEN or --token`;
  }
}

/** The address responded, but not as the OTA API does: with a body that is not JSON, or JSON of another shape. */
export class UnexpectedResponseError extends CliError {
  constructor(baseUrl: string, requestLine: string, problem: string) {
    super(`${requestLine} returned ${problem}; check that ${baseUrl} is the OTA campaign API (set --api or OTA_API_URL)`, ExitCode.FAILURE);
    this.name = 'UnexpectedResponseError';
  }
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export interface ApiClientOptions {
  timeoutMs?: number;
  /** Bearer token sent as `Authorization: Bearer` with every request. */
  token?: string;
  /** Ctrl-C: abandons the request in progress. */
  signal?: AbortSignal;
}

/** Sends JSON requests to the OTA API and turns every way they can fail into a CliError with a clear message. */
export class ApiClient {
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly token: string | undefined;

  constructor(
    readonly baseUrl: string,
    options: ApiClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.signal = options.signal;
    this.token = options.token;
  }

  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  /** Sends one request; resolves for 2xx with the parsed JSON body and throws a CliError otherwise. */
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiResponse<T>> {
    const requestLine = `${method} ${path.split('?')[0]}`;
    if (this.signal?.aborted) throw new InterruptedError();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([timeout, this.signal]) : timeout;

    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;

    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // With a token, a redirect could carry it to another server, so redirects are reported instead.
        redirect: this.token === undefined ? 'follow' : 'manual',
        signal,
      });
      // The timeout covers reading the body too, because a server can stall after the headers.
      text = await response.text();
    } catch (error) {
      if (this.signal?.aborted) throw new InterruptedError();
      if (timeout.aborted) throw new ApiTimeoutError(this.baseUrl, requestLine, this.timeoutMs);
      throw new ApiUnreachableError(this.baseUrl, describeFetchFailure(error));
    }

    if (this.token !== undefined) text = text.replaceAll(this.token, '[token]');
    if (this.token !== undefined && response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location') ?? 'no location';
      throw new UnexpectedResponseError(
        this.baseUrl,
        requestLine,
        `a redirect (${response.status}) to ${location}, which the CLI does not follow while it sends a token`,
      );
    }
    const parsed = parseJson(text);
    if (!response.ok) throw apiErrorFrom(requestLine, response, text, parsed, this.token !== undefined);
    if (parsed === undefined) {
      const contentType = response.headers.get('content-type') ?? 'no content-type';
      throw new UnexpectedResponseError(this.baseUrl, requestLine, `status ${response.status} with a body that is not JSON (${contentType})`);
    }
    return { status: response.status, body: parsed as T };
  }
}

/** Throws UnexpectedResponseError unless `body` is an object with each of `keys`. */
export function expectKeys(client: ApiClient, requestLine: string, body: unknown, keys: readonly string[]): void {
  const missing =
    typeof body === 'object' && body !== null && !Array.isArray(body) ? keys.filter((key) => !(key in body)) : [...keys];
  if (missing.length > 0) {
    throw new UnexpectedResponseError(client.baseUrl, requestLine, `a JSON body without ${missing.map((key) => `'${key}'`).join(', ')}`);
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function apiErrorFrom(requestLine: string, response: Response, text: string, body: unknown, tokenSent: boolean): ApiError {
  let errorName = response.statusText;
  let message: string;
  let fields: FieldProblem[] = [];
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    const apiBody = body as { error?: unknown; message: string; fields?: unknown };
    if (typeof apiBody.error === 'string') errorName = apiBody.error;
    message = apiBody.message;
    fields = fieldList(apiBody.fields);
  } else {
    // Not the API's error shape, for example a proxy's error page. Its start is usually enough to identify it.
    message = text.replace(/\s+/g, ' ').trim().slice(0, 200) || 'the response had no body';
  }
  // Without a token, a 403 comes from something else than the API's roles, such as a proxy.
  if (response.status === 401 || (response.status === 403 && tokenSent)) return new ApiAuthError(requestLine, response.status, errorName, message, tokenSent);
  return new ApiError(requestLine, response.status, errorName, message, fields);
}

function fieldList(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const { field, message } = item as { field?: unknown; message?: unknown };
    return typeof field === 'string' && typeof message === 'string' ? [{ field, message }] : [];
  });
}

function formatApiError(requestLine: string, status: number, errorName: string, message: string, fields: FieldProblem[]): string {
  const head = `${requestLine} failed with ${status}${errorName ? ` (${errorName})` : ''}`;
  // The API's message of a 400 joins the fields with ';', so a list of one field per line reads better.
  if (fields.length > 0) return `${head}:\n${fields.map((problem) => `  ${problem.field}: ${problem.message}`).join('\n')}`;
  return `${head}: ${message}`;
}

// Node's error codes of a failed connection, in the words of the message.
const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate could not be verified',
};

/**
 * Names the cause of a failed fetch. Node's fetch (undici) raises `TypeError: fetch failed` with the
 * socket error as `cause`, or an AggregateError of one error per address tried for a name like localhost.
 */
export function describeFetchFailure(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const first = cause instanceof AggregateError ? (cause.errors[0] as unknown) : cause;
  const code = (first as { code?: unknown })?.code;
  if (typeof code === 'string') return CONNECTION_ERRORS[code] ?? `${code} ${(first as Error).message ?? ''}`.trim();
  const message = first instanceof Error ? first.message : String(first);
  // The fetch standard blocks ports such as 1, 25 and 6000 that other protocols use.
  if (message === 'bad port') return 'fetch does not connect to this port because other protocols use it; run the API on another port';
  return message;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

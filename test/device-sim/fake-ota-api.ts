import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake API received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string;
}

/** Reply of a route: status and JSON body. */
export interface FakeReply {
  status: number;
  body: unknown;
}

/**
 * A stand-in for the OTA HTTP API on 127.0.0.1, with replies the test scripts per route. Each GET
 * route takes a list of replies served in order; the last one repeats.
 */
export class FakeOtaApi {
  readonly requests: ReceivedRequest[] = [];
  postReply: FakeReply = { status: 200, body: { workflowId: 'upgrade:p:d' } };
  otaReplies: FakeReply[] = [{ status: 404, body: { error: 'no OTA report yet' } }];
  deviceReplies: FakeReply[] = [{ status: 404, body: { error: 'device not found' } }];
  private server: http.Server | undefined;
  private otaIndex = 0;
  private deviceIndex = 0;

  get url(): string {
    const address = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const path = request.url ?? '';
        this.requests.push({ method: request.method ?? '', path, contentType: request.headers['content-type'], body });
        const reply = this.replyFor(request.method ?? '', path);
        response.writeHead(reply.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server?.close((error) => (error ? reject(error) : resolve())));
  }

  private replyFor(method: string, path: string): FakeReply {
    if (method === 'POST' && path.startsWith('/ota/')) return this.postReply;
    if (method === 'GET' && path.startsWith('/ota/')) return this.otaReplies[Math.min(this.otaIndex++, this.otaReplies.length - 1)]!;
    if (method === 'GET' && path.startsWith('/devices/')) return this.deviceReplies[Math.min(this.deviceIndex++, this.deviceReplies.length - 1)]!;
    return { status: 404, body: { error: `no route ${method} ${path}` } };
  }
}

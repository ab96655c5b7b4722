import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every server of the dev stack and the tests binds this address only. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * Finds `count` distinct free TCP ports on the loopback address. All probe sockets stay open until every
 * port is picked, so one call never returns the same port twice.
 * NOTE: a port is free only while nothing else binds it, so another process may take it between the probe
 * and the server's bind.
 */
export async function findFreePorts(count: number, host = LOOPBACK_HOST): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`findFreePorts: count must be a positive integer (got ${count})`);
  }
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < count; index += 1) {
      const server = net.createServer();
      servers.push(server);
      ports.push(await listenOnEphemeralPort(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** Finds one free TCP port on the loopback address, with the race that findFreePorts describes. */
export async function findFreePort(host = LOOPBACK_HOST): Promise<number> {
  const [port] = await findFreePorts(1, host);
  if (port === undefined) throw new Error('findFreePort: the operating system returned no port');
  return port;
}

function listenOnEphemeralPort(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`listening on ${host}:0 returned no TCP address`));
        return;
      }
      resolve(address.port);
    });
  });
}

/** Connects to host:port once and reports whether the connection was accepted within `timeoutMs`. */
export function canConnect(port: number, host = LOOPBACK_HOST, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export interface WaitForTcpPortOptions {
  host?: string;
  /** Total time to wait, in milliseconds. */
  timeoutMs?: number;
  /** Pause between connection attempts, in milliseconds. */
  intervalMs?: number;
}

/** Waits until host:port accepts TCP connections; rejects when `timeoutMs` passes first. */
export async function waitForTcpPort(port: number, options: WaitForTcpPortOptions = {}): Promise<void> {
  const host = options.host ?? LOOPBACK_HOST;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;

  for (;;) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) break;
    if (await canConnect(port, host, Math.min(remainingMs, 1_000))) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${host}:${port} to accept TCP connections; check that the server started and listens on that port`);
}

/** Error raised when a port that a server must listen on is taken; the message names the setting that moves it. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
    readonly setting: string,
  ) {
    super(
      `port ${port} on ${host} (${setting}) is already in use, perhaps by another running stack; ` +
        `stop the process that listens on it (ss -ltnp shows it) or set ${setting} to a free port`,
    );
    this.name = 'PortInUseError';
  }
}

/**
 * Binds host:port once and closes it again, and rejects with a PortInUseError naming `setting` when
 * another socket holds the port. Call it before starting a server, so that a taken port fails fast with
 * a clear message instead of in the server's own log. The race that findFreePorts describes applies.
 */
export async function assertPortFree(port: number, setting: string, host = LOOPBACK_HOST): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PortInUseError(port, host, setting);
    throw new Error(`cannot listen on ${host}:${port} (${setting}): ${(error as Error).message}; set ${setting} to another port`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

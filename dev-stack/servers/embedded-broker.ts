import net from 'node:net';
import type { Logger } from '../../observability/logger';
import { findFreePort, LOOPBACK_HOST } from '../ports';
import { AdmissionRejectedError, BrokerAdmission, generateEngineCredentials, type EngineCredentials } from './broker-admission';
import { PacketSizeLimitedConnection } from './mqtt-packet-size-limit';

/** Largest MQTT packet the embedded broker accepts by default. Device reports and commands are far smaller. */
export const DEFAULT_MAX_PACKET_BYTES = 64 * 1024;

/** Time a device's CONNECT waits for `admitDevices()` by default, as long as mqtt.js's default connect timeout. */
export const DEFAULT_DEVICE_HOLD_MS = 30_000;

export interface EmbeddedBrokerOptions {
  /** MQTT port; a free one when unset. */
  port?: number;
  /** Client ids that start with it are reserved for the engine's clients, 'ota-engine' by default. */
  reservedClientIdPrefix?: string;
  /** Credentials that reserved client ids must present, or fresh random ones when unset. */
  engineCredentials?: EngineCredentials;
  /** Holds device CONNECTs until `admitDevices()`. Off by default, so devices are admitted at once. */
  holdDevicesUntilAdmitted?: boolean;
  /** Time a device's CONNECT waits for `admitDevices()` before CONNACK 3, in milliseconds. */
  deviceHoldMs?: number;
  /** Largest MQTT packet accepted, fixed header included, in bytes. A larger one closes the connection. */
  maxPacketBytes?: number;
  logger?: Logger;
}

export interface EmbeddedBrokerHandle {
  /** Broker URL for mqtt.js, such as mqtt://127.0.0.1:1883. */
  readonly url: string;
  readonly port: number;
  /** Credentials that the engine's clients must present with a reserved client id. */
  readonly engineCredentials: EngineCredentials;
  /** Accepts the device CONNECTs held so far and every later one. Call it once the bridge has subscribed. */
  admitDevices(): void;
  /** Disconnects every client, closes the listener and the broker. */
  stop(): Promise<void>;
}

/**
 * Starts an in-process aedes MQTT broker (MQTT 3.1.1, in-memory persistence) on the loopback address,
 * for the start command when no external broker is configured. Its sessions and queued messages are
 * lost when the process ends. BrokerAdmission describes which clients it accepts and when.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBrokerHandle> {
  const logger = options.logger;
  const reservedClientIdPrefix = options.reservedClientIdPrefix ?? 'ota-engine';
  const engineCredentials = options.engineCredentials ?? generateEngineCredentials(reservedClientIdPrefix);
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const admission = new BrokerAdmission({
    reservedClientIdPrefix,
    engineCredentials,
    holdDevicesUntilAdmitted: options.holdDevicesUntilAdmitted ?? false,
    deviceHoldMs: options.deviceHoldMs ?? DEFAULT_DEVICE_HOLD_MS,
    logger,
  });

  // aedes 1.x is ESM-only. With `module: node16`, tsc emits this import() unchanged in CommonJS output,
  // so Node loads the package as ESM instead of require()-ing it.
  const { Aedes } = await import('aedes');
  // aedes 1.x removed the default export; createBroker() also sets up the persistence before returning.
  const broker = await Aedes.createBroker({ authenticate: admission.authenticate });
  const logClientError = (message: string) => (client: { id: string | null }, error: Error) => {
    // BrokerAdmission logs its own rejections, so they are not logged twice.
    if (error instanceof AdmissionRejectedError) return;
    logger?.warn({ clientId: client.id, err: error }, message);
  };
  broker.on('clientError', logClientError('embedded MQTT broker: client error'));
  broker.on('connectionError', logClientError('embedded MQTT broker: connection error'));

  const port = options.port ?? (await findFreePort());
  // Connections are tracked because a held CONNECT belongs to no aedes client yet, so broker.close()
  // does not end it, and server.close() would wait for it.
  const sockets = new Set<net.Socket>();
  // aedes parses packets with mqtt-packet 9, whose parser has no size limit and buffers a packet's whole
  // body before handling it, so the size limit reads each packet's length on the socket before aedes does.
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(new PacketSizeLimitedConnection(socket, maxPacketBytes));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: LOOPBACK_HOST, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new Error(`embedded MQTT broker could not listen on ${LOOPBACK_HOST}:${port}: ${(error as Error).message}; choose another port or stop the process that uses it`);
  }
  const url = `mqtt://${LOOPBACK_HOST}:${port}`;
  logger?.info({ url, reservedClientIdPrefix, maxPacketBytes, holdDevicesUntilAdmitted: options.holdDevicesUntilAdmitted ?? false }, 'embedded MQTT broker listening');

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    engineCredentials,
    admitDevices: () => admission.admitDevices(),
    stop() {
      stopped ??= (async () => {
        // server.close() waits for open connections to end, and broker.close() ends its clients' ones.
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        admission.close();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await serverClosed;
        logger?.info({ url }, 'embedded MQTT broker stopped');
      })();
      return stopped;
    },
  };
}

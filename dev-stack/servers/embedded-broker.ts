import net from 'node:net';
import type { Logger } from '../../observability/logger';
import { findFreePort, LOOPBACK_HOST } from '../ports';

export interface EmbeddedBrokerOptions {
  /** MQTT port; a free one when unset. */
  port?: number;
  logger?: Logger;
}

export interface EmbeddedBrokerHandle {
  /** Broker URL for mqtt.js, such as mqtt://127.0.0.1:1883. */
  readonly url: string;
  readonly port: number;
  /** Disconnects every client, closes the listener and the broker. */
  stop(): Promise<void>;
}

/**
 * Starts an in-process aedes MQTT broker (MQTT 3.1.1, in-memory persistence) on the loopback address,
 * for the start command when no external broker is configured. Its sessions and queued messages are
 * lost when the process ends.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBrokerHandle> {
  // aedes 1.x is ESM-only. With `module: node16`, tsc emits this import() unchanged in CommonJS output,
  // so Node loads the package as ESM instead of require()-ing it.
  const { Aedes } = await import('aedes');
  // aedes 1.x removed the default export; createBroker() also sets up the persistence before returning.
  const broker = await Aedes.createBroker();
  const logger = options.logger;
  broker.on('clientError', (client, error) => logger?.warn({ clientId: client.id, err: error }, 'embedded MQTT broker: client error'));
  broker.on('connectionError', (client, error) => logger?.warn({ clientId: client.id, err: error }, 'embedded MQTT broker: connection error'));

  const port = options.port ?? (await findFreePort());
  const server = net.createServer(broker.handle);
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
  logger?.info({ url }, 'embedded MQTT broker listening');

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    stop() {
      stopped ??= (async () => {
        // server.close() waits for open connections to end, and broker.close() ends them.
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
        logger?.info({ url }, 'embedded MQTT broker stopped');
      })();
      return stopped;
    },
  };
}

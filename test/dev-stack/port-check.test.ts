import net from 'node:net';
import { assertPortFree, findFreePort, PortInUseError } from '../../dev-stack/ports';

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server));
  });
}

describe('assertPortFree', () => {
  test('resolves for a free port', async () => {
    const port = await findFreePort();

    await expect(assertPortFree(port, 'DEV_MQTT_PORT')).resolves.toBeUndefined();
    // The check must not keep the port.
    const server = await listen(port, '127.0.0.1');
    server.close();
  });

  test('names the port and its setting when taken', async () => {
    const server = await listen(0, '127.0.0.1');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const check = assertPortFree(port, 'DEV_TEMPORAL_PORT');

      await expect(check).rejects.toBeInstanceOf(PortInUseError);
      await expect(check).rejects.toThrow(
        `port ${port} on 127.0.0.1 (DEV_TEMPORAL_PORT) is already in use, perhaps by another running stack; ` +
          'stop the process that listens on it (ss -ltnp shows it) or set DEV_TEMPORAL_PORT to a free port',
      );
    } finally {
      server.close();
    }
  });

  test('detects a port taken on all addresses', async () => {
    const server = await listen(0, '0.0.0.0');
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expect(assertPortFree(port, 'HTTP_PORT')).rejects.toThrow(/\(HTTP_PORT\) is already in use/);
    } finally {
      server.close();
    }
  });
});

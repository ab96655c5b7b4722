import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../observability/logger';
import { OfflineQueue, type DeviceLink, type DeviceLinkHandlers } from './device-link';
import { assertSubscribed, simulatorClientOptions, type MqttEndpoint } from './mqtt-endpoint';

export interface OwnConnectionLinkOptions {
  endpoint: MqttEndpoint;
  clientId: string;
  /** The device's command topic filter, such as `cmd/{productName}/{deviceName}/+/+/+/+`. */
  commandFilter: string;
  logger: Logger;
}

/**
 * A device link with an MQTT client of its own, as a real device has. mqtt.js reconnects by itself
 * after a network failure; goOffline() ends the client until goOnline() reconnects it.
 */
export class OwnConnectionLink implements DeviceLink {
  private client: MqttClient | undefined;
  private handlers: DeviceLinkHandlers | undefined;
  private readonly queue = new OfflineQueue();
  private offlineRequested = false;
  private closed = false;
  private readyWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];

  constructor(private readonly options: OwnConnectionLinkOptions) {}

  get online(): boolean {
    return this.client?.connected === true && !this.offlineRequested && !this.closed;
  }

  async open(handlers: DeviceLinkHandlers): Promise<void> {
    if (this.client !== undefined) throw new Error(`link of ${this.options.clientId} is already open`);
    this.handlers = handlers;
    const { endpoint, clientId } = this.options;
    const client = mqtt.connect(endpoint.url, simulatorClientOptions(endpoint, clientId));
    this.client = client;

    client.on('message', (topic, payload) => handlers.onMessage(topic, payload));
    client.on('connect', (connack) => void this.handleConnect(connack));
    client.on('offline', () => {
      if (!this.offlineRequested && !this.closed) this.options.logger.warn({ mqttClientId: clientId }, 'MQTT connection lost; mqtt.js will reconnect');
    });
    client.on('error', (error) => this.handleError(error));

    try {
      await this.waitUntilReady();
    } catch (error) {
      client.end(true);
      throw new Error(`could not connect ${clientId} to the MQTT broker at ${endpoint.url}: ${(error as Error).message}`);
    }
  }

  publish(topic: string, payload: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`cannot publish to ${topic}: ${this.options.clientId} is closed`));
    // While the client is ended mqtt.js rejects publishes, so they wait here instead. When the connection
    // merely dropped, mqtt.js stores QoS 1 messages itself and resends them after it reconnects.
    if (this.offlineRequested || this.client === undefined) return this.queue.add(topic, payload);
    return this.client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined);
  }

  async goOffline(): Promise<void> {
    if (this.offlineRequested || this.closed || this.client === undefined) return;
    this.offlineRequested = true;
    // A normal end waits for unacknowledged publishes, so no report is lost in the cut. Without a
    // connection it would wait forever, so then the client ends at once.
    // NOTE: mqtt.js 5 replaces its message stores on reconnect(), so reports it stored during a drop
    // that was still going on when goOffline() came are lost.
    await this.client.endAsync(!this.client.connected);
  }

  async goOnline(): Promise<void> {
    if (!this.offlineRequested || this.closed || this.client === undefined) return;
    this.offlineRequested = false;
    const ready = this.waitUntilReady();
    this.client.reconnect();
    await ready;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.drop(`${this.options.clientId} was closed`);
    this.rejectWaiters(new Error(`${this.options.clientId} was closed`));
    const client = this.client;
    if (client === undefined) return;
    // Without a connection a normal end would wait forever for acknowledgements that cannot come.
    await client.endAsync(!client.connected);
  }

  /** Subscribes when the broker has no session for this client, sends what was queued, then reports online. */
  private async handleConnect(connack: IConnackPacket): Promise<void> {
    const client = this.client!;
    try {
      if (!connack.sessionPresent) {
        assertSubscribed(await client.subscribeAsync(this.options.commandFilter, { qos: 1 }), this.options.clientId);
      }
    } catch (error) {
      this.options.logger.error({ err: error, mqttClientId: this.options.clientId }, 'subscribing to device commands failed');
      this.rejectWaiters(error as Error);
      return;
    }
    await this.queue.flush((topic, payload) => this.publish(topic, payload), () => this.online);
    this.handlers?.onConnect();
    this.resolveWaiters();
  }

  private handleError(error: Error): void {
    // Before the first connection an error fails open(); afterwards mqtt.js keeps reconnecting.
    if (this.readyWaiters.length > 0) this.rejectWaiters(error);
    else this.options.logger.error({ err: error, mqttClientId: this.options.clientId }, 'MQTT client error');
  }

  private waitUntilReady(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private resolveWaiters(): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
  }

  private rejectWaiters(error: Error): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }
}

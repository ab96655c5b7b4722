import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { deviceCommandFilter } from '../protocol';
import type { Logger } from '../observability/logger';
import { OfflineQueue, type DeviceLink, type DeviceLinkHandlers } from './device-link';
import { assertSubscribed, simulatorClientOptions, type MqttEndpoint } from './mqtt-endpoint';

/** Filters per SUBSCRIBE packet, which keeps each packet far below the broker's maximum packet size. */
const FILTERS_PER_SUBSCRIBE = 500;

/**
 * Messages held for one device while it is offline or not yet open. Mosquitto's default
 * max_queued_messages is also 1000, so a real persistent session would drop beyond this too.
 */
const MAX_HELD_MESSAGES = 1000;

export interface SharedConnectionOptions {
  endpoint: MqttEndpoint;
  clientId: string;
  productName: string;
  /**
   * True subscribes once to `cmd/{productName}/+/+/+/+/+` and drops commands for devices this
   * connection does not serve. Use it when one connection serves the whole fleet; with several
   * connections it would deliver every command to each of them.
   */
  useProductWildcard: boolean;
  logger: Logger;
}

/**
 * One MQTT connection that many simulated devices share, because thousands of TCP connections are
 * heavy for a single process. It dispatches commands by the device name in the topic. Devices are
 * offline or online independently: commands for an offline device are held until it comes back,
 * as the broker would hold them for a persistent session.
 */
export class SharedConnection {
  private readonly links = new Map<string, SharedConnectionLink>();
  private client: MqttClient | undefined;
  private firstConnectDone = false;
  /** Messages whose topic named no device of this connection. */
  unroutedMessages = 0;

  constructor(private readonly options: SharedConnectionOptions) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  get clientId(): string {
    return this.options.clientId;
  }

  /** Creates the link of one device. All links must exist before open(), which subscribes for them. */
  createLink(deviceName: string): SharedConnectionLink {
    if (this.client !== undefined) throw new Error(`cannot add device ${deviceName} to ${this.options.clientId} after it connected`);
    if (this.links.has(deviceName)) throw new Error(`device ${deviceName} already has a link on ${this.options.clientId}`);
    const link = new SharedConnectionLink(this, deviceName);
    this.links.set(deviceName, link);
    return link;
  }

  /** Connects and subscribes for every device; resolves once commands can arrive. */
  async open(): Promise<void> {
    if (this.client !== undefined) throw new Error(`${this.options.clientId} is already open`);
    const { endpoint, clientId } = this.options;
    const client = mqtt.connect(endpoint.url, simulatorClientOptions(endpoint, clientId));
    this.client = client;
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    client.on('offline', () => this.options.logger.warn({ mqttClientId: clientId }, 'shared MQTT connection lost; mqtt.js will reconnect'));

    await new Promise<void>((resolve, reject) => {
      client.on('connect', (connack) => {
        this.handleConnect(connack).then(resolve, (error: Error) => {
          this.options.logger.error({ err: error, mqttClientId: clientId }, 'subscribing for shared devices failed');
          reject(error);
        });
      });
      client.on('error', (error) => {
        if (!this.firstConnectDone) reject(error);
        else this.options.logger.error({ err: error, mqttClientId: clientId }, 'shared MQTT client error');
      });
    }).catch((error: Error) => {
      client.end(true);
      throw new Error(`could not connect ${clientId} to the MQTT broker at ${endpoint.url}: ${error.message}`);
    });
  }

  publish(topic: string, payload: string): Promise<void> {
    if (this.client === undefined) return Promise.reject(new Error(`cannot publish to ${topic}: ${this.options.clientId} is not open`));
    return this.client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined);
  }

  /** Closes every link and then the connection. */
  async close(): Promise<void> {
    for (const link of this.links.values()) await link.close();
    const client = this.client;
    if (client === undefined) return;
    await client.endAsync(!client.connected);
  }

  /** @internal Called by a link when its device closes. */
  detach(deviceName: string): void {
    this.links.delete(deviceName);
  }

  private filters(): string[] {
    if (this.options.useProductWildcard) return [`cmd/${this.options.productName}/+/+/+/+/+`];
    return [...this.links.keys()].map((deviceName) => deviceCommandFilter({ productName: this.options.productName, deviceName }));
  }

  private async handleConnect(connack: IConnackPacket): Promise<void> {
    const client = this.client!;
    if (!connack.sessionPresent) {
      const filters = this.filters();
      for (let start = 0; start < filters.length; start += FILTERS_PER_SUBSCRIBE) {
        const batch = filters.slice(start, start + FILTERS_PER_SUBSCRIBE);
        assertSubscribed(await client.subscribeAsync(batch, { qos: 1 }), this.options.clientId);
      }
    }
    if (this.firstConnectDone) {
      for (const link of this.links.values()) link.connectionRestored();
    }
    this.firstConnectDone = true;
  }

  private dispatch(topic: string, payload: Buffer): void {
    // The device name is read without validation so that the device itself records a malformed command.
    const deviceName = topic.split('/')[2];
    const link = deviceName === undefined ? undefined : this.links.get(deviceName);
    if (link === undefined) {
      this.unroutedMessages += 1;
      this.options.logger.debug({ topic, mqttClientId: this.options.clientId }, 'command for a device this connection does not serve');
      return;
    }
    link.deliver(topic, payload);
  }
}

/** A device's share of a SharedConnection. */
export class SharedConnectionLink implements DeviceLink {
  private handlers: DeviceLinkHandlers | undefined;
  private offlineRequested = false;
  private closed = false;
  private readonly outgoing = new OfflineQueue();
  private readonly held: Array<{ topic: string; payload: Buffer }> = [];
  /** Commands dropped because more than MAX_HELD_MESSAGES arrived while the device was offline. */
  droppedMessages = 0;

  constructor(
    private readonly connection: SharedConnection,
    readonly deviceName: string,
  ) {}

  get online(): boolean {
    return this.handlers !== undefined && !this.offlineRequested && !this.closed && this.connection.connected;
  }

  async open(handlers: DeviceLinkHandlers): Promise<void> {
    if (this.closed) throw new Error(`link of device ${this.deviceName} is closed`);
    if (!this.connection.connected) {
      throw new Error(`shared connection ${this.connection.clientId} must be open before device ${this.deviceName} opens its link`);
    }
    this.handlers = handlers;
    await this.comeOnline();
  }

  publish(topic: string, payload: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`cannot publish to ${topic}: device ${this.deviceName} is closed`));
    if (this.handlers === undefined || this.offlineRequested) return this.outgoing.add(topic, payload);
    // When the shared connection itself dropped, mqtt.js stores QoS 1 messages and resends them later.
    return this.connection.publish(topic, payload);
  }

  async goOffline(): Promise<void> {
    this.offlineRequested = true;
  }

  async goOnline(): Promise<void> {
    if (!this.offlineRequested || this.closed) return;
    this.offlineRequested = false;
    await this.comeOnline();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.outgoing.drop(`device ${this.deviceName} was closed`);
    this.held.length = 0;
    this.connection.detach(this.deviceName);
  }

  /** @internal Receives a command for this device from the shared connection. */
  deliver(topic: string, payload: Buffer): void {
    if (this.closed) return;
    if (this.handlers === undefined || this.offlineRequested) {
      if (this.held.length >= MAX_HELD_MESSAGES) this.droppedMessages += 1;
      else this.held.push({ topic, payload });
      return;
    }
    this.handlers.onMessage(topic, payload);
  }

  /** @internal Reports the device online again after the shared connection reconnected. */
  connectionRestored(): void {
    if (this.handlers !== undefined && !this.offlineRequested && !this.closed) void this.comeOnline();
  }

  /** Delivers held commands, sends queued reports, then calls onConnect, in the order of a real reconnection. */
  private async comeOnline(): Promise<void> {
    const handlers = this.handlers!;
    for (const message of this.held.splice(0)) handlers.onMessage(message.topic, message.payload);
    await this.outgoing.flush((topic, payload) => this.publish(topic, payload), () => this.online);
    handlers.onConnect();
  }
}

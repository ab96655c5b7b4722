/** Callbacks a link calls on behalf of one simulated device. */
export interface DeviceLinkHandlers {
  /** Called each time the device comes online: after the first connection and after every reconnection. */
  onConnect(): void;
  /** Called with each message on the device's command topics. */
  onMessage(topic: string, payload: Buffer): void;
}

/**
 * The MQTT connection of one simulated device: either a client of its own or a share of a
 * connection that serves many devices. Both subscribe to the device's commands at QoS 1 and keep
 * the subscription across disconnections, so commands published while the device is offline
 * arrive when it comes back.
 */
export interface DeviceLink {
  readonly online: boolean;
  /** Connects and subscribes; resolves once commands can arrive. Rejects when the first connection fails. */
  open(handlers: DeviceLinkHandlers): Promise<void>;
  /**
   * Publishes at QoS 1 and resolves once the broker acknowledged it. While the device is offline
   * the message waits in a queue and goes out, in order, when it comes back online.
   */
  publish(topic: string, payload: string): Promise<void>;
  /** Cuts the device off the broker until goOnline(), as a network failure would. */
  goOffline(): Promise<void>;
  goOnline(): Promise<void>;
  /** Disconnects for good. Messages still queued are dropped and their publish() calls reject. */
  close(): Promise<void>;
}

/** A publish made while offline, sent when the device comes back online. */
interface QueuedPublish {
  topic: string;
  payload: string;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Queue of the messages a device published while offline, in order. A real device's MQTT library
 * queues QoS 1 messages the same way while its connection is down.
 */
export class OfflineQueue {
  private readonly queued: QueuedPublish[] = [];

  get size(): number {
    return this.queued.length;
  }

  /** Queues a publish; the promise settles when flush() sends it or drop() discards it. */
  add(topic: string, payload: string): Promise<void> {
    return new Promise<void>((resolve, reject) => this.queued.push({ topic, payload, resolve, reject }));
  }

  /**
   * Sends the queued publishes in order, each after the previous one was acknowledged, and stops
   * early when `isOnline` turns false so the rest waits for the next connection.
   */
  async flush(send: (topic: string, payload: string) => Promise<void>, isOnline: () => boolean): Promise<void> {
    while (this.queued.length > 0 && isOnline()) {
      const next = this.queued.shift()!;
      try {
        await send(next.topic, next.payload);
        next.resolve();
      } catch (error) {
        next.reject(error as Error);
      }
    }
  }

  /** Rejects every queued publish with `reason`, emptying the queue. */
  drop(reason: string): void {
    for (const queued of this.queued.splice(0)) queued.reject(new Error(`publish to ${queued.topic} dropped: ${reason}`));
  }
}

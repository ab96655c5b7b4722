import type { IClientOptions, ISubscriptionGrant } from 'mqtt';

/** Broker URL and the credentials a simulated device logs in with. */
export interface MqttEndpoint {
  url: string;
  username?: string;
  password?: string;
}

export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';

/**
 * mqtt.js options shared by every simulator connection. Sessions are persistent (clean false) so the
 * broker queues QoS 1 commands while a device is offline, and MQTT 3.1.1 matches the IotHub devices.
 * The simulator subscribes again itself whenever the broker has lost the session, so mqtt.js's own
 * resubscribe bookkeeping is off: with it on, mqtt.js 5 skips a subscribe to a filter it already
 * subscribed once.
 */
export function simulatorClientOptions(endpoint: MqttEndpoint, clientId: string): IClientOptions {
  return {
    clientId,
    clean: false,
    protocolVersion: 4,
    username: endpoint.username,
    password: endpoint.password,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    resubscribe: false,
  };
}

/** Throws when the broker rejected any of the subscriptions: a SUBACK return code of 128 means failure. */
export function assertSubscribed(grants: ISubscriptionGrant[], clientId: string): void {
  const rejected = grants.filter((grant) => grant.qos === 128).map((grant) => grant.topic);
  if (rejected.length > 0) {
    throw new Error(`broker rejected the subscription of ${clientId} to ${rejected.join(', ')}; check the broker's ACL`);
  }
}

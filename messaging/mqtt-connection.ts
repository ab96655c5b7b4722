import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { withoutCredentials } from '../config/env';
import type { MqttSettings } from '../config/settings';
import type { Logger } from '../observability/logger';

export interface MqttConnectOptions {
  /** Client id suffix; the full id is `{MQTT_CLIENT_ID_PREFIX}-{role}`. */
  role: string;
  /** False keeps a persistent session, so QoS 1 messages published while disconnected are delivered later. */
  clean: boolean;
  /** Extra options for mqtt.js. */
  extra?: Partial<IClientOptions>;
}

/** Time the first connection may take, including mqtt.js's own retries, in milliseconds. */
const START_TIMEOUT_MS = 30_000;

/**
 * Connects to the broker and resolves once the first CONNACK arrives. Afterwards mqtt.js reconnects by
 * itself; disconnects and reconnects are logged.
 */
export async function connectMqtt(settings: MqttSettings, options: MqttConnectOptions, logger: Logger): Promise<MqttClient> {
  const clientId = `${settings.clientIdPrefix}-${options.role}`;
  const client = mqtt.connect(settings.url, {
    clientId,
    clean: options.clean,
    username: settings.username,
    password: settings.password,
    protocolVersion: 4,
    ...(settings.tls ?? {}),
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    ...options.extra,
  });
  const log = logger.child({ mqttClientId: clientId });
  client.on('reconnect', () => log.info('reconnecting to the MQTT broker'));
  client.on('offline', () => log.warn('MQTT connection lost'));
  client.on('error', (error) => log.error({ err: error }, 'MQTT client error'));

  // A refused TCP connection makes mqtt.js retry without an 'error' event, so start-up also gives up
  // after a deadline instead of waiting forever for a broker that is not there.
  await new Promise<void>((resolve, reject) => {
    const where = withoutCredentials(settings.url);
    const finish = (error?: Error) => {
      clearTimeout(deadline);
      client.off('connect', onConnect);
      client.off('error', onError);
      if (!error) return resolve();
      client.end(true);
      reject(error);
    };
    const onConnect = () => finish();
    const onError = (error: Error) => finish(new Error(`could not connect to the MQTT broker at ${where}: ${error.message}`));
    const deadline = setTimeout(
      () => finish(new Error(`could not connect to the MQTT broker at ${where} within ${START_TIMEOUT_MS} ms; check MQTT_URL and that the broker runs`)),
      START_TIMEOUT_MS,
    );
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  client.on('connect', () => log.info('reconnected to the MQTT broker'));
  log.info({ url: withoutCredentials(settings.url) }, 'connected to the MQTT broker');
  return client;
}

/** Publishes at QoS 1 and resolves when the broker acknowledged the message (PUBACK). */
export function publishQos1(client: MqttClient, topic: string, payload: string | Buffer): Promise<void> {
  return client.publishAsync(topic, payload, { qos: 1 }).then(() => undefined);
}

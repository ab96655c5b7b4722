import { loadApiSecuritySettings, loadBridgeSettings, loadHttpSettings, loadLogSettings, loadMongoSettings, loadMqttSettings, loadTemporalSettings, loadUpgradeDefaults, loadWorkerSettings } from '../config/settings';
import { LOOPBACK_HOST } from './ports';
import { generateEngineCredentials, type EngineCredentials } from './servers/broker-admission';
import type { StackSettings } from './stack-settings';

type Env = Record<string, string | undefined>;

/**
 * Loads every setting of the engine's services as the start command runs them, and throws a ConfigError
 * naming each invalid one. The services see the parent's environment plus the addresses of the servers
 * the stack starts, and, with the embedded broker, credentials generated for this start.
 *
 * The addresses are known before the servers start, because each server is started on its fixed port
 * and returns exactly these addresses, so an invalid setting stops the command before anything starts.
 */
export function loadEngineSettings(stack: StackSettings, env: Env = process.env) {
  const serverEnv: Env = {};
  if (stack.externalTemporal === undefined) serverEnv.TEMPORAL_ADDRESS = `${LOOPBACK_HOST}:${stack.temporalPort}`;
  if (stack.externalMongo === undefined) serverEnv.MONGO_URL = `mongodb://${LOOPBACK_HOST}:${stack.ferretdbPort}/`;
  let brokerCredentials: EngineCredentials | undefined;
  if (stack.externalMqtt === undefined) {
    serverEnv.MQTT_URL = `mqtt://${LOOPBACK_HOST}:${stack.mqttPort}`;
    brokerCredentials = generateEngineCredentials(loadMqttSettings(env).clientIdPrefix);
    serverEnv.MQTT_USERNAME = brokerCredentials.username;
    serverEnv.MQTT_PASSWORD = brokerCredentials.password;
  }
  const settingsEnv = { ...env, ...serverEnv };

  const bridge = loadBridgeSettings(settingsEnv);
  return {
    log: loadLogSettings(settingsEnv),
    temporal: loadTemporalSettings(settingsEnv),
    mongo: loadMongoSettings(settingsEnv),
    mqtt: loadMqttSettings(settingsEnv),
    worker: loadWorkerSettings(settingsEnv),
    // The embedded broker (aedes) has no shared subscriptions, so the bridge uses one connection with it.
    bridge: stack.externalMqtt === undefined ? { ...bridge, connections: 1, sharedSubscription: false } : bridge,
    http: loadHttpSettings(settingsEnv),
    upgradeDefaults: loadUpgradeDefaults(settingsEnv),
    // The start command serves on loopback: without configured tokens it turns authentication off on purpose.
    apiSecurity: loadApiSecuritySettings(
      settingsEnv.API_TOKENS || settingsEnv.API_TOKENS_FILE ? settingsEnv : { ...settingsEnv, API_AUTH: settingsEnv.API_AUTH || 'disabled' },
    ),
    /** Credentials the embedded broker requires for the engine's client ids; undefined with an external broker. */
    brokerCredentials,
  };
}
export type EngineSettings = ReturnType<typeof loadEngineSettings>;

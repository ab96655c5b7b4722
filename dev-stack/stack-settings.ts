import path from 'node:path';
import { z } from 'zod';
import { parseEnv, portSchema } from '../config/env';

/** Root of the checkout, where the start command keeps its data folder by default. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '.');

/**
 * Settings of the start command. A server whose URL is already configured (TEMPORAL_ADDRESS, MONGO_URL,
 * MQTT_URL) is used as it is; the others are started here on these loopback ports.
 */
export function loadStackSettings(env: Record<string, string | undefined> = process.env) {
  const settings = parseEnv(
    {
      OTA_DATA_DIR: z.string().default(path.join(PROJECT_ROOT, '.data')),
      DEV_TEMPORAL_PORT: portSchema.default(7233),
      DEV_TEMPORAL_UI_PORT: portSchema.default(8233),
      DEV_FERRETDB_PORT: portSchema.default(27017),
      DEV_MQTT_PORT: portSchema.default(1883),
      TEMPORAL_ADDRESS: z.string().optional(),
      MONGO_URL: z.string().optional(),
      MQTT_URL: z.string().optional(),
    },
    env,
  );
  return {
    dataDir: path.resolve(settings.OTA_DATA_DIR),
    temporalPort: settings.DEV_TEMPORAL_PORT,
    temporalUiPort: settings.DEV_TEMPORAL_UI_PORT,
    ferretdbPort: settings.DEV_FERRETDB_PORT,
    mqttPort: settings.DEV_MQTT_PORT,
    externalTemporal: settings.TEMPORAL_ADDRESS,
    externalMongo: settings.MONGO_URL,
    externalMqtt: settings.MQTT_URL,
  };
}
export type StackSettings = ReturnType<typeof loadStackSettings>;

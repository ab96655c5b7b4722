import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../observability/logger';
import { startFerretdbServer, type FerretdbServerHandle } from '../../dev-stack/servers/ferretdb';
import { startMosquittoServer, type MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';
import { startTemporalServer, type TemporalServerHandle } from '../../dev-stack/servers/temporal';

/** The servers of one test run, shared with the global teardown through `globalThis`. */
export interface TestServers {
  dataDir: string;
  temporal: TemporalServerHandle;
  ferretdb: FerretdbServerHandle;
  mosquitto: MosquittoServerHandle;
}

// Jest runs the global setup and teardown in one process and documents globals as the way to share state.
export const TEST_SERVERS_GLOBAL = '__otaTestServers';

/**
 * Starts one Temporal dev server, one FerretDB and one Mosquitto for the whole test run, in a fresh temporary
 * folder, and publishes their addresses as TEMPORAL_ADDRESS, MONGO_URL and MQTT_URL. Jest starts its workers
 * after this function returns, and they inherit this process's environment.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ota-test-'));
  const logger = createLogger('test-servers', 'warn');

  const results = await Promise.allSettled([
    startTemporalServer({ dataDir: path.join(dataDir, 'temporal'), logger }),
    startFerretdbServer({ dataDir: path.join(dataDir, 'ferretdb'), logger }),
    startMosquittoServer({ dataDir: path.join(dataDir, 'mosquitto'), logger }),
  ]);
  const [temporal, ferretdb, mosquitto] = results;
  if (temporal.status === 'rejected' || ferretdb.status === 'rejected' || mosquitto.status === 'rejected') {
    await Promise.all(results.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
    const reasons = results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
    throw new Error(`test servers failed to start (logs are kept in ${dataDir}):\n${reasons.join('\n')}`);
  }

  process.env.TEMPORAL_ADDRESS = temporal.value.address;
  process.env.TEMPORAL_NAMESPACE = temporal.value.namespace;
  process.env.MONGO_URL = ferretdb.value.url;
  process.env.MQTT_URL = mosquitto.value.url;
  process.env.OTA_TEST_DATA_DIR = dataDir;

  const servers: TestServers = { dataDir, temporal: temporal.value, ferretdb: ferretdb.value, mosquitto: mosquitto.value };
  (globalThis as Record<string, unknown>)[TEST_SERVERS_GLOBAL] = servers;
  process.stderr.write(
    `\ntest servers in ${dataDir}: Temporal ${temporal.value.address} (ready in ${temporal.value.startDurationMs} ms), ` +
      `FerretDB ${ferretdb.value.url} (${ferretdb.value.startDurationMs} ms), Mosquitto ${mosquitto.value.url} (${mosquitto.value.startDurationMs} ms)\n`,
  );
}

/** Stops the test servers and deletes their data folder, which OTA_TEST_KEEP_DATA=1 keeps for debugging. */
export async function stopTestServers(servers: TestServers): Promise<void> {
  await Promise.all([servers.temporal.stop(), servers.ferretdb.stop(), servers.mosquitto.stop()]);
  if (process.env.OTA_TEST_KEEP_DATA === '1') {
    process.stderr.write(`\ntest server data and logs kept in ${servers.dataDir}\n`);
    return;
  }
  await rm(servers.dataDir, { recursive: true, force: true });
}

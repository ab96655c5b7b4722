import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startMosquittoServer, type MosquittoServerHandle } from '../../dev-stack/servers/mosquitto';

/**
 * Starts a Mosquitto of its own for one test file. Every bridge subscribes to the reports of all
 * devices. On the shared broker, the bridges of test files running at the same time would count each
 * other's reports and signal each other's workflows, so exact counts need a broker no other file uses.
 * Its data goes below the test run's folder, which the global teardown deletes.
 */
export async function startPrivateBroker(label: string): Promise<MosquittoServerHandle> {
  const parent = process.env.OTA_TEST_DATA_DIR ?? os.tmpdir();
  const dataDir = await mkdtemp(path.join(parent, `mosquitto-${label}-`));
  return startMosquittoServer({ dataDir });
}

// Records histories of the upgrade workflow for the replay test. Run it after a deliberate change of
// workflow behaviour: `npm run record-histories`. It starts a Temporal dev server of its own, runs each
// scenario against in-memory activity clients, and writes one JSON history per scenario.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startTemporalServer } from '../../dev-stack/servers/temporal';
import { upgradeWorkflowId } from '../../protocol';
import { upgradeDevice } from '../../workflows/upgrade';
import type { UpgradeInput } from '../../workflows/upgrade-input';
import { FakeActivityClients, sendProgress, sendStatus } from '../support/fake-activity-clients';
import { startTestWorker } from '../support/worker-harness';

const HISTORIES_DIR = path.join(__dirname, 'histories');

function upgradeInput(deviceName: string, overrides: Partial<UpgradeInput> = {}): UpgradeInput {
  return {
    productName: 'replay',
    deviceName,
    firmware: { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'd41d8cd98f00b204e9800998ecf8427e' },
    timeouts: { stallMs: 1_000, verifyMs: 1_000, attemptMs: 30_000, commandTtlMs: 60_000 },
    retry: { maxAttempts: 2, initialBackoffMs: 200, backoffCoefficient: 2, maxBackoffMs: 1_000, retryableReasons: ['download_error', 'stall_timeout', 'verify_timeout'] },
    skipIfInstalled: false,
    ...overrides,
  };
}

type Scenario = (fakes: FakeActivityClients, handle: WorkflowHandle, deviceName: string) => Promise<void>;

const SCENARIOS: Record<string, { input?: Partial<UpgradeInput>; drive: Scenario }> = {
  success: {
    async drive(fakes, handle, device) {
      await fakes.waitForCommands(device, 1);
      for (const value of [0, 20, 40, 60, 80, 100]) await sendProgress(handle, value);
      await sendStatus(handle, '1.1');
    },
  },
  'retry-then-success': {
    async drive(fakes, handle, device) {
      await fakes.waitForCommands(device, 1);
      await sendProgress(handle, 40);
      await sendProgress(handle, -1);
      await fakes.waitForCommands(device, 2);
      await sendProgress(handle, 100);
      await sendStatus(handle, '1.1');
    },
  },
  'stall-timeout': {
    input: { retry: { maxAttempts: 1, initialBackoffMs: 200, backoffCoefficient: 2, maxBackoffMs: 1_000, retryableReasons: [] } },
    async drive(fakes, _handle, device) {
      await fakes.waitForCommands(device, 1);
    },
  },
  'version-mismatch': {
    async drive(fakes, handle, device) {
      await fakes.waitForCommands(device, 1);
      await sendProgress(handle, 100);
      await sendStatus(handle, '1.0');
    },
  },
  'verify-timeout-stored-status': {
    async drive(fakes, handle, device) {
      await fakes.waitForCommands(device, 1);
      await sendProgress(handle, 100);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await fakes.waitForCommands(device, 2);
      fakes.storedStatus.set(device, { firmware_ver: '1.1', updatedAt: new Date() });
      await sendProgress(handle, 100);
    },
  },
  cancelled: {
    async drive(fakes, handle, device) {
      await fakes.waitForCommands(device, 1);
      await sendProgress(handle, 10);
      await handle.cancel();
    },
  },
  'skipped-already-installed': {
    input: { skipIfInstalled: true },
    async drive() {},
  },
};

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ota-record-'));
  const server = await startTemporalServer({ dataDir });
  process.env.TEMPORAL_ADDRESS = server.address;
  const fakes = new FakeActivityClients();
  const harness = await startTestWorker(fakes.dependencies, 'record');
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const deviceName = `replay-${name}`;
      if (name === 'skipped-already-installed') fakes.storedStatus.set(deviceName, { firmware_ver: '1.1', updatedAt: new Date(0) });
      const input = upgradeInput(deviceName, scenario.input);
      const handle = await harness.client.workflow.start(upgradeDevice, {
        workflowId: upgradeWorkflowId(input),
        taskQueue: harness.taskQueue,
        args: [input],
      });
      await scenario.drive(fakes, handle, deviceName);
      await handle.result().catch(() => undefined);
      const history = await handle.fetchHistory();
      const file = path.join(HISTORIES_DIR, `upgrade-${name}.json`);
      writeFileSync(file, `${historyToJSON(history)}\n`);
      console.log(`recorded ${history.events?.length ?? 0} events to ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    await harness.stop();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

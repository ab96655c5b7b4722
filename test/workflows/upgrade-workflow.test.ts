import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { upgradeWorkflowId } from '../../protocol';
import { upgradeDevice, upgradeStateQuery } from '../../workflows/upgrade';
import type { UpgradeInput } from '../../workflows/upgrade-input';
import type { UpgradeState } from '../../workflows/upgrade-tracker';
import { FakeActivityClients, nextMessageId, sendProgress, sendStatus } from '../support/fake-activity-clients';
import { startTestWorker, waitFor, type RunningWorker } from '../support/worker-harness';

// Workflow tests on the real Temporal dev server. Activities talk to in-memory fakes, and the test sends
// the signals the bridge would, so each case controls exactly what the workflow sees and when.

const fakes = new FakeActivityClients();
const { storedStatus } = fakes;

let harness: RunningWorker;
let deviceCounter = 0;

beforeAll(async () => {
  harness = await startTestWorker(fakes.dependencies, 'upgrade-workflow');
});

afterAll(async () => {
  await harness?.stop();
});

function input(overrides: Partial<Omit<UpgradeInput, 'timeouts' | 'retry'>> & {
  timeouts?: Partial<UpgradeInput['timeouts']>;
  retry?: Partial<UpgradeInput['retry']>;
} = {}): UpgradeInput {
  deviceCounter += 1;
  const { timeouts, retry, ...rest } = overrides;
  return {
    productName: 'wf-test',
    deviceName: `dev-${deviceCounter}-${Date.now()}`,
    firmware: { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'd41d8cd98f00b204e9800998ecf8427e' },
    timeouts: { stallMs: 5_000, verifyMs: 5_000, attemptMs: 60_000, commandTtlMs: 60_000, ...timeouts },
    retry: { maxAttempts: 1, initialBackoffMs: 100, backoffCoefficient: 2, maxBackoffMs: 1_000, retryableReasons: ['download_error', 'stall_timeout'], ...retry },
    skipIfInstalled: false,
    ...rest,
  };
}

async function start(upgrade: UpgradeInput): Promise<WorkflowHandle<typeof upgradeDevice>> {
  return harness.client.workflow.start(upgradeDevice, {
    workflowId: upgradeWorkflowId(upgrade),
    taskQueue: harness.taskQueue,
    args: [upgrade],
  });
}

function commandsFor(deviceName: string) {
  return fakes.commandsFor(deviceName);
}

function waitForCommands(deviceName: string, count: number) {
  return fakes.waitForCommands(deviceName, count);
}

async function failureState(handle: WorkflowHandle): Promise<{ type: string | undefined; state: UpgradeState }> {
  try {
    await handle.result();
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      return { type: error.cause.type ?? undefined, state: error.cause.details?.[0] as UpgradeState };
    }
    throw error;
  }
  throw new Error('expected the upgrade to fail, but it completed');
}

describe('upgradeDevice workflow', () => {
  it('succeeds when the device reports the target version', async () => {
    const upgrade = input();
    const handle = await start(upgrade);
    const [command] = await waitForCommands(upgrade.deviceName, 1);
    expect(command?.payload).toEqual(upgrade.firmware);

    for (const value of [0, 20, 40, 60, 80, 100]) await sendProgress(handle, value);
    await sendStatus(handle, '1.1');
    const state = await handle.result();

    expect(state.phase).toBe('succeeded');
    expect(state.progress).toBe(100);
    expect(state.attempt).toBe(1);
    expect(state.reportedVersion).toBe('1.1');
    expect(state.attempts[0]?.requestId).toBe(command?.requestId);
  });

  it('answers the state query while downloading', async () => {
    const upgrade = input();
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 40);
    const state = await waitFor('progress 40 in the query', async () => {
      const current = await handle.query(upgradeStateQuery);
      return current.progress === 40 ? current : undefined;
    });

    expect(state.phase).toBe('downloading');
    expect(state.targetVersion).toBe('1.1');
    expect(state.firmwareType).toBe('firmware');
    expect(state.desc).toBe('download');
    expect(state.failureReason).toBeNull();
    await handle.terminate('test done');
  });

  it.each([
    [-1, 'download_error'],
    [-2, 'md5_error'],
    [-3, 'install_error'],
    [-4, 'device_error'],
  ])('fails on progress %d with reason %s', async (code, reason) => {
    const upgrade = input({ retry: { retryableReasons: [] } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 30);
    await sendProgress(handle, code);

    const { type, state } = await failureState(handle);
    expect(type).toBe('UpgradeFailed');
    expect(state.phase).toBe('failed');
    expect(state.failureReason).toBe(reason);
    expect(state.attempts).toHaveLength(1);
  });

  it('retries a retryable failure with a new requestID and then succeeds', async () => {
    const upgrade = input({ retry: { maxAttempts: 3 } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 50);
    await sendProgress(handle, -1);

    const commands = await waitForCommands(upgrade.deviceName, 2);
    expect(commands[1]?.requestId).not.toBe(commands[0]?.requestId);
    await sendProgress(handle, 100);
    await sendStatus(handle, '1.1');
    const state = await handle.result();

    expect(state.phase).toBe('succeeded');
    expect(state.attempt).toBe(2);
    expect(state.attempts.map((attempt) => attempt.reason)).toEqual(['download_error', null]);
    expect(commandsFor(upgrade.deviceName)).toHaveLength(2);
  });

  it('does not retry a reason outside the policy', async () => {
    const upgrade = input({ retry: { maxAttempts: 3, retryableReasons: ['stall_timeout'] } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, -2);

    const { state } = await failureState(handle);
    expect(state.failureReason).toBe('md5_error');
    expect(state.attempt).toBe(1);
    expect(commandsFor(upgrade.deviceName)).toHaveLength(1);
  });

  it('stops after maxAttempts and keeps every attempt', async () => {
    const upgrade = input({ retry: { maxAttempts: 2 } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, -1);
    await waitForCommands(upgrade.deviceName, 2);
    await sendProgress(handle, -1);

    const { state } = await failureState(handle);
    expect(state.attempt).toBe(2);
    expect(state.attempts.map((attempt) => attempt.reason)).toEqual(['download_error', 'download_error']);
  });

  it('times out a stalled download', async () => {
    const upgrade = input({ timeouts: { stallMs: 1_500 } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 20);

    const { state } = await failureState(handle);
    expect(state.failureReason).toBe('stall_timeout');
    expect(state.progress).toBe(20);
  });

  it('keeps waiting while progress arrives within the stall timeout', async () => {
    const upgrade = input({ timeouts: { stallMs: 1_500 } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    // Reports 0.8 s apart span 4 s in all, past the stall timeout of 1.5 s counted from the command.
    for (const value of [10, 20, 30, 40, 50]) {
      await sendProgress(handle, value);
      await new Promise((resolve) => setTimeout(resolve, 800));
    }
    await sendProgress(handle, 100);
    await sendStatus(handle, '1.1');
    expect((await handle.result()).phase).toBe('succeeded');
  });

  it('ends an attempt at its deadline even while progress arrives', async () => {
    const upgrade = input({ timeouts: { stallMs: 5_000, attemptMs: 2_000 } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    // Progress every 0.3 s for 1.5 s keeps the stall timer quiet, so only the 2 s deadline can end it.
    for (let value = 1; value <= 5; value += 1) {
      await sendProgress(handle, value);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const { state } = await failureState(handle);
    expect(state.failureReason).toBe('attempt_timeout');
  });

  it('times out when no firmware_ver follows progress 100', async () => {
    const upgrade = input({ timeouts: { verifyMs: 1_500 } });
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 100);

    const { state } = await failureState(handle);
    expect(state.failureReason).toBe('verify_timeout');
  });

  it('fails with version_mismatch on any other version', async () => {
    const upgrade = input();
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 100);
    await sendStatus(handle, '1.1.10');

    const { state } = await failureState(handle);
    expect(state.failureReason).toBe('version_mismatch');
    expect(state.reportedVersion).toBe('1.1.10');
  });

  it('finds a firmware_ver stored before the workflow asked', async () => {
    const upgrade = input();
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    // The status report reached the registry, but its signal never reached the workflow.
    storedStatus.set(upgrade.deviceName, { firmware_ver: '1.1', updatedAt: new Date() });
    await sendProgress(handle, 100);

    const state = await handle.result();
    expect(state.phase).toBe('succeeded');
    expect(state.reportedVersion).toBe('1.1');
  });

  it('ignores duplicate, regressed and other-version reports', async () => {
    const upgrade = input();
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    const messageId = nextMessageId();
    await sendProgress(handle, 40, '1.1', messageId);
    await sendProgress(handle, 40, '1.1', messageId);
    await sendProgress(handle, 20);
    await sendProgress(handle, 90, '1.2');
    await sendProgress(handle, 100);
    await sendStatus(handle, '1.1');

    const state = await handle.result();
    expect(state.phase).toBe('succeeded');
    expect(state.ignoredReports).toBe(3);
  });

  it('skips a device that already runs the target when asked to', async () => {
    const upgrade = input({ skipIfInstalled: true });
    storedStatus.set(upgrade.deviceName, { firmware_ver: '1.1', updatedAt: new Date(0) });
    const state = await (await start(upgrade)).result();

    expect(state.phase).toBe('skipped');
    expect(state.skipReason).toBe('already_installed');
    expect(commandsFor(upgrade.deviceName)).toHaveLength(0);
  });

  it('records cancellation as the final state', async () => {
    const upgrade = input();
    const handle = await start(upgrade);
    await waitForCommands(upgrade.deviceName, 1);
    await sendProgress(handle, 10);
    await handle.cancel();

    await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
    const state = await handle.query(upgradeStateQuery);
    expect(state.phase).toBe('cancelled');
    expect(state.endedAt).not.toBeNull();
  });

  it('fails attempts whose command cannot be published', async () => {
    const upgrade = input({ retry: { retryableReasons: [] } });
    fakes.publishFailure = ApplicationFailure.nonRetryable('broker rejected the publish', 'PublishRejected');
    try {
      const { state } = await failureState(await start(upgrade));
      expect(state.failureReason).toBe('publish_failed');
      expect(state.attempts[0]?.desc).toMatch(/broker rejected the publish|Activity task failed/);
    } finally {
      fakes.publishFailure = undefined;
    }
  });

  it('rejects invalid input without retrying', async () => {
    const upgrade = input();
    const invalid = { ...upgrade, firmware: { ...upgrade.firmware, md5: 'abcd' } };
    const handle = await start(invalid);

    const error = await handle.result().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidUpgradeInput');
    expect((cause as ApplicationFailure).message).toMatch(/firmware\.md5/);
    expect(commandsFor(upgrade.deviceName)).toHaveLength(0);
  });
});

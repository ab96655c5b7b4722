import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { upgradeWorkflowId, type DeviceRef } from '../protocol/names';
import { progressReportedSignal, statusReportedSignal } from '../workflows/upgrade';
import type { ProgressSignal, StatusSignal } from '../workflows/upgrade-tracker';

export type SignalResult = 'signalled' | 'no_running_upgrade';

/** Sends reports to the running upgrade of a device, found by its workflow id without a lookup. */
export class UpgradeSignaller {
  constructor(private readonly client: Client) {}

  signalProgress(ref: DeviceRef, signal: ProgressSignal): Promise<SignalResult> {
    return this.send(ref, (handle) => handle.signal(progressReportedSignal, signal));
  }

  signalStatus(ref: DeviceRef, signal: StatusSignal): Promise<SignalResult> {
    return this.send(ref, (handle) => handle.signal(statusReportedSignal, signal));
  }

  private async send(
    ref: DeviceRef,
    deliver: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>,
  ): Promise<SignalResult> {
    // Without a run id the signal goes to the latest run, and fails with not-found once it has closed.
    const handle = this.client.workflow.getHandle(upgradeWorkflowId(ref));
    try {
      await deliver(handle);
      return 'signalled';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return 'no_running_upgrade';
      throw error;
    }
  }
}

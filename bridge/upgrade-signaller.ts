import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../observability/logger';
import { grpcStatusCode, isTransientTemporalError } from '../temporal/grpc-errors';
import { LogThrottle } from './log-throttle';
import { upgradeWorkflowId, type DeviceRef } from '../protocol/names';
import { progressReportedSignal, statusReportedSignal } from '../workflows/upgrade';
import type { ProgressSignal, StatusSignal } from '../workflows/upgrade-tracker';

/**
 * What became of a signal: delivered, no upgrade running, rejected by Temporal for good (for example
 * because the workflow reached its limit of signals), which no retry can change, or not sent because the
 * device exceeded its signal rate.
 */
export type SignalResult = 'signalled' | 'no_running_upgrade' | 'rejected' | 'rate_limited';

/** Sends reports to the running upgrade of a device, found by its workflow id without a lookup. */
export class UpgradeSignaller {
  private readonly throttle = new LogThrottle();

  constructor(
    private readonly client: Client,
    private readonly logger: Logger,
  ) {}

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
      // Transient errors go back to the caller, which retries. Retrying a permanent one would hold back
      // every report behind it.
      if (isTransientTemporalError(error)) throw error;
      const { log, suppressed } = this.throttle.take(`${ref.productName}:${ref.deviceName}`);
      if (log) this.logger.error({ err: error, ...ref, grpcCode: grpcStatusCode(error), suppressed }, 'Temporal rejected a signal for good; the report is dropped');
      return 'rejected';
    }
  }
}

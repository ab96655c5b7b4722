import type { Client, WorkflowHandle } from '@temporalio/client';
import type { ActivityDependencies } from '../../activities';
import { parseCommandTopic } from '../../protocol';
import { progressReportedSignal, statusReportedSignal } from '../../workflows/upgrade';
import { waitFor } from './worker-harness';

export interface PublishedCommand {
  deviceName: string;
  requestId: string;
  payload: Record<string, unknown>;
}

/**
 * In-memory stand-ins for the broker and the device registry, so workflow tests control exactly what
 * the workflow sees. The Temporal server and worker stay real.
 */
export class FakeActivityClients {
  readonly published: PublishedCommand[] = [];
  readonly storedStatus = new Map<string, { firmware_ver: string; updatedAt: Date }>();
  /** When set, every publish fails with this error. */
  publishFailure: Error | undefined;

  readonly dependencies: ActivityDependencies = {
    publisher: {
      publish: async (topic, payload) => {
        if (this.publishFailure) throw this.publishFailure;
        const parts = parseCommandTopic(topic);
        if (!parts) throw new Error(`published to a topic that is not a command: ${topic}`);
        this.published.push({ deviceName: parts.deviceName, requestId: parts.requestId, payload: JSON.parse(payload) });
      },
    },
    devices: {
      findDevice: async (ref) => {
        const stored = this.storedStatus.get(ref.deviceName);
        return stored ? { device_status: { firmware_ver: stored.firmware_ver }, status_updated_at: stored.updatedAt } : null;
      },
    },
    // Tests of the device upgrade alone run no campaign, so any campaign activity call is a test bug.
    campaigns: {
      storage: new Proxy({} as ActivityDependencies['campaigns']['storage'], { get: () => unavailable }),
      temporal: new Proxy({} as Client, { get: () => unavailable }),
      taskQueue: 'unused',
    },
  };

  commandsFor(deviceName: string): PublishedCommand[] {
    return this.published.filter((command) => command.deviceName === deviceName);
  }

  async waitForCommands(deviceName: string, count: number): Promise<PublishedCommand[]> {
    return waitFor(`${count} command(s) to ${deviceName}`, () => {
      const commands = this.commandsFor(deviceName);
      return commands.length >= count ? commands : undefined;
    });
  }
}

function unavailable(): never {
  throw new Error('campaign activities are not available with FakeActivityClients; run campaigns with the real engine');
}

let messageCounter = 0;

/** A fresh 24-digit hex id, as devices put in report topics. */
export function nextMessageId(): string {
  messageCounter += 1;
  return messageCounter.toString(16).padStart(24, '0');
}

/** Sends the signal the bridge sends for an `update_ota_status` report. */
export async function sendProgress(handle: WorkflowHandle, value: number, version = '1.1', messageId = nextMessageId()): Promise<void> {
  await handle.signal(progressReportedSignal, { messageId, version, type: 'firmware', progress: value, desc: 'download', receivedAt: Date.now() });
}

/** Sends the signal the bridge sends for an `update_status` report carrying firmware_ver. */
export async function sendStatus(handle: WorkflowHandle, firmwareVer: string): Promise<void> {
  await handle.signal(statusReportedSignal, { messageId: nextMessageId(), firmwareVer, receivedAt: Date.now() });
}

import { log } from '@temporalio/activity';
import { CommandName, commandTopic, type DeviceRef, type OtaUpgradePayload } from '../protocol';

/** Sends a command to the broker and resolves once the broker acknowledged it. */
export interface CommandPublisher {
  publish(topic: string, payload: string): Promise<void>;
}

/** Reads what a device last reported. */
export interface DeviceStatusReader {
  findDevice(ref: DeviceRef): Promise<{ device_status: Record<string, unknown>; status_updated_at?: Date } | null>;
}

export interface PublishOtaCommandInput extends DeviceRef {
  /** Id the device can use to recognise a redelivered command; the same across retries of one publish. */
  requestId: string;
  commandTtlMs: number;
  firmware: OtaUpgradePayload;
}

export interface PublishOtaCommandResult {
  topic: string;
  expiresAt: number;
}

export interface StoredDeviceStatus {
  firmwareVer?: string;
  /** When the status was last written, in milliseconds since the epoch. */
  statusUpdatedAt?: number;
}

/** Creates the activities of a device upgrade from the clients they use. */
export function createUpgradeActivities(deps: { publisher: CommandPublisher; devices: DeviceStatusReader }) {
  return {
    /** Publishes `$ota_upgrade` to the device at QoS 1, expiring `commandTtlMs` from now. */
    async publishOtaCommand(input: PublishOtaCommandInput): Promise<PublishOtaCommandResult> {
      const expiresAt = Date.now() + input.commandTtlMs;
      const topic = commandTopic({
        productName: input.productName,
        deviceName: input.deviceName,
        commandName: CommandName.OTA_UPGRADE,
        encoding: 'plain',
        requestId: input.requestId,
        expiresAt,
      });
      await deps.publisher.publish(topic, JSON.stringify(input.firmware));
      log.info('published $ota_upgrade', {
        productName: input.productName,
        deviceName: input.deviceName,
        requestId: input.requestId,
        version: input.firmware.version,
      });
      return { topic, expiresAt };
    },

    /** Returns the firmware_ver stored for the device and when its status was written. */
    async readDeviceStatus(ref: DeviceRef): Promise<StoredDeviceStatus> {
      const device = await deps.devices.findDevice(ref);
      if (!device) return {};
      const firmwareVer = device.device_status.firmware_ver;
      return {
        firmwareVer: typeof firmwareVer === 'string' ? firmwareVer : undefined,
        statusUpdatedAt: device.status_updated_at?.getTime(),
      };
    },
  };
}

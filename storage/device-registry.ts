import type { Collection, Db } from 'mongodb';
import { deviceKey, type DeviceRef } from '../protocol/names';
import type { ProgressReport, StatusReport } from '../protocol/messages';
import { isDuplicateKeyError } from './mongo';

/** A device in the registry, created on its first report. Field names follow the IotHub server. */
export interface DeviceDocument {
  /** `{productName}:{deviceName}`: deterministic, so every write is a lookup by `_id`. */
  _id: string;
  product_name: string;
  device_name: string;
  /** Latest value of each field the device reported on `update_status`, `firmware_ver` among them. */
  device_status: StatusReport;
  status_updated_at?: Date;
  /** Latest report on `update_ota_status`, whatever its version. */
  ota_progress?: {
    version: string;
    type: string;
    progress: number;
    desc: string | null;
    message_id: string;
    updated_at: Date;
  };
  created_at: Date;
  last_report_at: Date;
}

export const DEVICES_COLLECTION = 'devices';

/** The device registry: each device's latest reported status and OTA progress. */
export class DeviceRegistry {
  private readonly devices: Collection<DeviceDocument>;

  constructor(db: Db) {
    this.devices = db.collection<DeviceDocument>(DEVICES_COLLECTION);
  }

  /** Creates the indexes the registry's queries use. Safe to call at every start. */
  async ensureIndexes(): Promise<void> {
    await this.devices.createIndex({ product_name: 1, device_name: 1 }, { name: 'product_device' });
  }

  /** Merges a status report into the device's `device_status`, creating the device if it is new. */
  async recordStatus(ref: DeviceRef, fields: StatusReport, receivedAt: Date): Promise<void> {
    const set: Record<string, unknown> = { status_updated_at: receivedAt, last_report_at: receivedAt };
    for (const [name, value] of Object.entries(fields)) set[`device_status.${name}`] = value;
    // An empty report still creates the device, and needs device_status to exist for later merges.
    const setOnInsert: Record<string, unknown> = { product_name: ref.productName, device_name: ref.deviceName, created_at: receivedAt };
    if (Object.keys(fields).length === 0) setOnInsert.device_status = {};
    await this.upsert(ref, { $set: set, $setOnInsert: setOnInsert });
  }

  /** Stores a progress report as the device's latest OTA progress, creating the device if it is new. */
  async recordProgress(ref: DeviceRef, report: ProgressReport, messageId: string, receivedAt: Date): Promise<void> {
    await this.upsert(ref, {
      $set: {
        ota_progress: {
          version: report.version,
          type: report.type,
          progress: report.progress,
          desc: report.desc ?? null,
          message_id: messageId,
          updated_at: receivedAt,
        },
        last_report_at: receivedAt,
      },
      $setOnInsert: { product_name: ref.productName, device_name: ref.deviceName, created_at: receivedAt, device_status: {} },
    });
  }

  async findDevice(ref: DeviceRef): Promise<DeviceDocument | null> {
    return this.devices.findOne({ _id: deviceKey(ref) });
  }

  private async upsert(ref: DeviceRef, update: Record<string, Record<string, unknown>>): Promise<void> {
    const filter = { _id: deviceKey(ref) };
    try {
      await this.devices.updateOne(filter, update, { upsert: true });
    } catch (error) {
      // Two concurrent upserts of a new device can both try to insert it; the loser finds it on retry.
      if (!isDuplicateKeyError(error)) throw error;
      await this.devices.updateOne(filter, update, { upsert: true });
    }
  }
}

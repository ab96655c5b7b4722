import { MongoBulkWriteError, type Collection, type Db } from 'mongodb';
import { deviceKey, type DeviceRef } from '../protocol/names';
import type { ProgressReport, StatusReport } from '../protocol/messages';
import { hasOnlyDuplicateKeyErrors, MAX_UPDATE_BATCH, splitIntoChunks } from './batches';
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

/** The latest progress and status reports of one device, to store in one update. */
export interface DeviceReportEntry {
  ref: DeviceRef;
  progress?: { report: ProgressReport; messageId: string; receivedAt: Date };
  status?: { fields: StatusReport; receivedAt: Date };
}

/** Builds the upsert that stores a device's reports, creating the device on its first report. */
function reportUpdate(entry: DeviceReportEntry): { $set: Record<string, unknown>; $setOnInsert: Record<string, unknown> } {
  const set: Record<string, unknown> = {};
  const times: Date[] = [];
  if (entry.progress) {
    const { report, messageId, receivedAt } = entry.progress;
    set.ota_progress = {
      version: report.version,
      type: report.type,
      progress: report.progress,
      desc: report.desc ?? null,
      message_id: messageId,
      updated_at: receivedAt,
    };
    times.push(receivedAt);
  }
  if (entry.status) {
    for (const [name, value] of Object.entries(entry.status.fields)) set[`device_status.${name}`] = value;
    set.status_updated_at = entry.status.receivedAt;
    times.push(entry.status.receivedAt);
  }
  const lastReportAt = new Date(Math.max(...times.map((time) => time.getTime())));
  set.last_report_at = lastReportAt;
  const setOnInsert: Record<string, unknown> = { product_name: entry.ref.productName, device_name: entry.ref.deviceName, created_at: lastReportAt };
  // A new device needs device_status for later merges, unless this update sets fields inside it, which
  // MongoDB would reject as a conflict with setting the whole object.
  if (!entry.status || Object.keys(entry.status.fields).length === 0) setOnInsert.device_status = {};
  return { $set: set, $setOnInsert: setOnInsert };
}

/** Maximum device names per findFirmwareVersions call: its `$in` list grows with every name. */
export const MAX_FIRMWARE_LOOKUP = 1_000;

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
    await this.upsert(ref, reportUpdate({ ref, status: { fields, receivedAt } }));
  }

  /** Stores a progress report as the device's latest OTA progress, creating the device if it is new. */
  async recordProgress(ref: DeviceRef, report: ProgressReport, messageId: string, receivedAt: Date): Promise<void> {
    await this.upsert(ref, reportUpdate({ ref, progress: { report, messageId, receivedAt } }));
  }

  /**
   * Applies the latest reports of many devices, at most one entry per device, in update commands of at
   * most MAX_UPDATE_BATCH statements. A statement that loses an insert race to a concurrent writer
   * (duplicate key) is applied again on its own.
   */
  async recordReports(entries: readonly DeviceReportEntry[]): Promise<void> {
    for (const chunk of splitIntoChunks(entries, MAX_UPDATE_BATCH)) {
      const operations = chunk.map((entry) => ({
        updateOne: { filter: { _id: deviceKey(entry.ref) }, update: reportUpdate(entry), upsert: true },
      }));
      try {
        await this.devices.bulkWrite(operations, { ordered: false });
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError) || !hasOnlyDuplicateKeyErrors(error)) throw error;
        // FerretDB stops an update command at its first failed statement, so every statement is sent again.
        for (const entry of chunk) await this.upsert(entry.ref, reportUpdate(entry));
      }
    }
  }

  /** Checks that the database answers. */
  async ping(): Promise<void> {
    await this.devices.db.command({ ping: 1 });
  }

  async findDevice(ref: DeviceRef): Promise<DeviceDocument | null> {
    return this.devices.findOne({ _id: deviceKey(ref) });
  }

  /**
   * Reads the reported `firmware_ver` of up to MAX_FIRMWARE_LOOKUP devices of one product in one query.
   * Returns an entry for each requested name, undefined when the device is unknown or never reported one.
   */
  async findFirmwareVersions(productName: string, deviceNames: readonly string[]): Promise<Map<string, string | undefined>> {
    const uniqueNames = [...new Set(deviceNames)];
    if (uniqueNames.length > MAX_FIRMWARE_LOOKUP) {
      throw new RangeError(`findFirmwareVersions takes at most ${MAX_FIRMWARE_LOOKUP} device names per call, got ${uniqueNames.length}; split the list`);
    }
    const versions = new Map<string, string | undefined>(uniqueNames.map((deviceName) => [deviceName, undefined]));
    if (uniqueNames.length === 0) return versions;

    const keys = uniqueNames.map((deviceName) => deviceKey({ productName, deviceName }));
    const found = await this.devices
      .find({ _id: { $in: keys } }, { projection: { 'device_status.firmware_ver': 1 } })
      .toArray();
    const prefixLength = productName.length + 1;
    for (const device of found) {
      const version = device.device_status?.firmware_ver;
      versions.set(device._id.slice(prefixLength), typeof version === 'string' ? version : undefined);
    }
    return versions;
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

import type { Collection, Db, Filter } from 'mongodb';
import { deviceKey, productNameSchema, InvalidNameError } from '../protocol';
import { assertBatchSize, insertSkippingDuplicates, MAX_INSERT_BATCH, MAX_PAGE_SIZE, splitIntoChunks } from './batches';
import { assertCampaignId, campaignTargetSpecSchema, type CampaignTargetSpec, type StatusCondition } from './campaign-store';
import { DEVICES_COLLECTION, type DeviceDocument } from './device-registry';

export const CAMPAIGN_TARGETS_COLLECTION = 'campaign_targets';

/** One device a campaign targets. */
export interface CampaignTargetDocument {
  /** Key `{campaignId}:{deviceName}`, built by campaignDeviceKey. */
  _id: string;
  campaign_id: string;
  device_name: string;
}

/** Key of a device's record in a campaign's per-device collections (targets and outcomes). */
export function campaignDeviceKey(campaignId: string, deviceName: string): string {
  return `${campaignId}:${deviceName}`;
}

/**
 * Returns the `_id` range of a campaign's per-device records after `afterDeviceName`, or all of them when
 * it is null. Neither campaign ids nor device names contain ':', and ';' is the character after ':', so
 * the keys between `{campaignId}:` and `{campaignId};` are exactly those of the campaign.
 */
export function campaignKeyRange(campaignId: string, afterDeviceName: string | null): { $gt: string; $lt: string } {
  return {
    $gt: afterDeviceName === null ? `${campaignId}:` : campaignDeviceKey(campaignId, afterDeviceName),
    $lt: `${campaignId};`,
  };
}

export interface PrepareCampaign {
  id: string;
  productName: string;
  target: CampaignTargetSpec;
}

/** How far `prepare` got, reported after each batch that it stored. */
export interface PrepareProgress {
  /** Registry key (`{productName}:{deviceName}`) of the last device stored. Pass it as resumeAfterDeviceKey to resume. */
  lastDeviceKey: string;
  /** Targets this call has inserted so far, without those that an earlier call already stored. */
  inserted: number;
}

export interface PrepareOptions {
  /** Skips devices whose registry key sorts at or before this one, as reported by an earlier call. */
  resumeAfterDeviceKey?: string;
  /** Called after each stored batch, for example to heartbeat the activity; awaited before the next batch. */
  onProgress?: (progress: PrepareProgress) => void | Promise<void>;
  /** Devices per registry page and per insert, from 1 to 1,000 (default 1,000). */
  batchSize?: number;
}

/**
 * The target list of each campaign, one document per device, so that the campaign workflow can read
 * its devices page by page instead of holding the fleet in memory.
 */
export class CampaignTargets {
  private readonly targets: Collection<CampaignTargetDocument>;
  private readonly devices: Collection<DeviceDocument>;

  // Every query reads an `_id` range, which the `_id` index serves, so this collection needs no other index.
  constructor(db: Db) {
    this.targets = db.collection<CampaignTargetDocument>(CAMPAIGN_TARGETS_COLLECTION);
    this.devices = db.collection<DeviceDocument>(DEVICES_COLLECTION);
  }

  /**
   * Stores the campaign's target list and returns how many targets the campaign has. Running it again,
   * or resuming it, stores each device once, so the list is the union of what the runs found. For `all`
   * and `filter` that includes devices that reached the registry between runs.
   */
  async prepare(campaign: PrepareCampaign, options: PrepareOptions = {}): Promise<{ total: number }> {
    assertCampaignId(campaign.id);
    const parsedProduct = productNameSchema.safeParse(campaign.productName);
    if (!parsedProduct.success) {
      throw new InvalidNameError(`invalid product name ${JSON.stringify(campaign.productName)} of campaign ${JSON.stringify(campaign.id)}: ${parsedProduct.error.issues[0]?.message}`);
    }
    const productName = parsedProduct.data;
    const parsedTarget = campaignTargetSpecSchema.safeParse(campaign.target);
    if (!parsedTarget.success) {
      const issues = parsedTarget.error.issues.map((issue) => `${issue.path.join('.') || 'target'}: ${issue.message}`).join('; ');
      throw new Error(`invalid target of campaign ${JSON.stringify(campaign.id)}: ${issues}; fix the stored campaign`);
    }
    const batchSize = options.batchSize ?? MAX_INSERT_BATCH;
    assertBatchSize('batchSize', batchSize, MAX_INSERT_BATCH);

    const devicePrefix = `${productName}:`;
    const resumeAfter = options.resumeAfterDeviceKey;
    if (resumeAfter !== undefined && !resumeAfter.startsWith(devicePrefix)) {
      throw new RangeError(
        `resumeAfterDeviceKey ${JSON.stringify(resumeAfter)} is not a device key of product ${JSON.stringify(productName)}; ` +
          `pass the lastDeviceKey that prepare reported for this campaign`,
      );
    }

    const target = parsedTarget.data;
    const context: ScanContext = { campaignId: campaign.id, productName, batchSize, resumeAfter, onProgress: options.onProgress };
    if (target.kind === 'devices') {
      await this.storeNamedDevices(context, target.deviceNames);
    } else {
      await this.storeRegistryDevices(context, target.kind === 'filter' ? target.where : []);
    }

    const total = await this.targets.countDocuments({ _id: campaignKeyRange(campaign.id, null) });
    return { total };
  }

  /** Returns up to `limit` target device names in key order, after `afterDeviceName` or from the start. */
  async readPage(campaignId: string, afterDeviceName: string | null, limit: number): Promise<string[]> {
    assertCampaignId(campaignId);
    assertBatchSize('limit', limit, MAX_PAGE_SIZE);
    const page = await this.targets
      .find({ _id: campaignKeyRange(campaignId, afterDeviceName) }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    const prefixLength = campaignId.length + 1;
    return page.map((document) => document._id.slice(prefixLength));
  }

  // Sorting the names gives a resumable order that matches the registry keys of the other target kinds.
  private async storeNamedDevices(context: ScanContext, deviceNames: readonly string[]): Promise<void> {
    const sorted = [...deviceNames].sort(compareCodeUnits);
    const remaining = sorted.filter(
      (deviceName) => context.resumeAfter === undefined || deviceKey({ productName: context.productName, deviceName }) > context.resumeAfter,
    );
    let inserted = 0;
    for (const batch of splitIntoChunks(remaining, context.batchSize)) {
      inserted += await insertSkippingDuplicates(this.targets, batch.map((deviceName) => targetDocument(context.campaignId, deviceName)));
      const lastDeviceName = batch.at(-1)!;
      await context.onProgress?.({ lastDeviceKey: deviceKey({ productName: context.productName, deviceName: lastDeviceName }), inserted });
    }
  }

  // Pages through the product's devices by `_id` range, so that each page is a short query and a retried
  // activity can resume after the last key it reported.
  private async storeRegistryDevices(context: ScanContext, where: readonly StatusCondition[]): Promise<void> {
    const devicePrefix = `${context.productName}:`;
    const conditions = where.map(statusConditionFilter);
    let after = context.resumeAfter ?? devicePrefix;
    let inserted = 0;

    for (;;) {
      const filter: Filter<DeviceDocument> = { _id: { $gt: after, $lt: `${context.productName};` } };
      if (conditions.length > 0) filter.$and = conditions;
      const page = await this.devices.find(filter, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(context.batchSize).toArray();
      const last = page.at(-1);
      if (last === undefined) return;

      const documents = page.map((device) => targetDocument(context.campaignId, device._id.slice(devicePrefix.length)));
      inserted += await insertSkippingDuplicates(this.targets, documents);
      after = last._id;
      await context.onProgress?.({ lastDeviceKey: after, inserted });
      if (page.length < context.batchSize) return;
    }
  }
}

interface ScanContext {
  campaignId: string;
  productName: string;
  batchSize: number;
  resumeAfter: string | undefined;
  onProgress: PrepareOptions['onProgress'];
}

function targetDocument(campaignId: string, deviceName: string): CampaignTargetDocument {
  if (deviceName.includes(':')) {
    throw new InvalidNameError(`device name ${JSON.stringify(deviceName)} contains ':', which would break the keys of campaign ${campaignId}`);
  }
  return { _id: campaignDeviceKey(campaignId, deviceName), campaign_id: campaignId, device_name: deviceName };
}

const OPERATORS = { eq: '$eq', ne: '$ne', in: '$in', nin: '$nin' } as const;

function statusConditionFilter(condition: StatusCondition): Filter<DeviceDocument> {
  return { [`device_status.${condition.field}`]: { [OPERATORS[condition.op]]: condition.value } } as Filter<DeviceDocument>;
}

// MongoDB orders ASCII strings by byte, which is the order of UTF-16 code units that `<` compares.
function compareCodeUnits(left: string, right: string): number {
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

import type { Db } from 'mongodb';
import type { CampaignStorage } from '../activities/campaign-activities';
import type { CampaignView, DeviceOutcomeRecord } from '../workflows/campaign-types';
import { CampaignOutcomes } from './campaign-outcomes';
import { CampaignStore } from './campaign-store';
import { CampaignTargets } from './campaign-targets';
import { DeviceRegistry } from './device-registry';

/** The campaign activities' view of MongoDB, over the campaign, target, outcome and device collections. */
export class MongoCampaignStorage implements CampaignStorage {
  readonly campaigns: CampaignStore;
  readonly targets: CampaignTargets;
  readonly outcomes: CampaignOutcomes;
  private readonly devices: DeviceRegistry;

  constructor(db: Db) {
    this.campaigns = new CampaignStore(db);
    this.targets = new CampaignTargets(db);
    this.outcomes = new CampaignOutcomes(db);
    this.devices = new DeviceRegistry(db);
  }

  async ensureIndexes(): Promise<void> {
    await this.campaigns.ensureIndexes();
    await this.outcomes.ensureIndexes();
  }

  async prepareTargets(campaignId: string, options: { resumeAfter?: string; onProgress: (lastKey: string) => void }): Promise<{ total: number }> {
    const campaign = await this.campaigns.get(campaignId);
    if (campaign === null) throw new Error(`campaign ${JSON.stringify(campaignId)} not found; it must be stored before its workflow starts`);
    return this.targets.prepare(
      { id: campaign._id, productName: campaign.product_name, target: campaign.target },
      { resumeAfterDeviceKey: options.resumeAfter, onProgress: (progress) => options.onProgress(progress.lastDeviceKey) },
    );
  }

  readTargets(campaignId: string, afterDeviceName: string | null, limit: number): Promise<string[]> {
    return this.targets.readPage(campaignId, afterDeviceName, limit);
  }

  async readRetryTargets(campaignId: string, afterDeviceName: string | null, limit: number): Promise<string[]> {
    const records = await this.outcomes.readRetryPage(campaignId, afterDeviceName, limit);
    return records.map((record) => record.deviceName);
  }

  recordOutcomes(campaignId: string, outcomes: readonly DeviceOutcomeRecord[], round: number): Promise<void> {
    return this.outcomes.record(campaignId, outcomes, { round });
  }

  async saveSummary(campaignId: string, view: CampaignView, asOf: number): Promise<void> {
    await this.campaigns.updateSummary(campaignId, {
      state: view.state,
      counts: view.counts,
      abortReason: view.abortReason,
      startedAt: view.startedAt === null ? null : new Date(view.startedAt),
      endedAt: view.endedAt === null ? null : new Date(view.endedAt),
      updatedAt: new Date(asOf),
      view,
    });
  }

  findFirmwareVersions(productName: string, deviceNames: readonly string[]): Promise<Map<string, string | undefined>> {
    return this.devices.findFirmwareVersions(productName, deviceNames);
  }
}

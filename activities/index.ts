import type { Client } from '@temporalio/client';
import { createCampaignActivities, type CampaignStorage } from './campaign-activities';
import { createUpgradeActivities, type CommandPublisher, type DeviceStatusReader } from './upgrade-activities';

export * from './campaign-activities';
export * from './upgrade-activities';

/** Everything the activities need, injected so tests and processes choose the real clients. */
export interface ActivityDependencies {
  publisher: CommandPublisher;
  devices: DeviceStatusReader;
  campaigns: {
    storage: CampaignStorage;
    /** Client that starts, cancels and describes device upgrades for campaigns. */
    temporal: Client;
    /** Task queue of the device upgrades a campaign starts. */
    taskQueue: string;
  };
}

/** Creates every activity the worker registers. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createUpgradeActivities(deps),
    ...createCampaignActivities(deps.campaigns),
  };
}

export type UpgradeActivities = ReturnType<typeof createActivities>;

import type { Client } from '@temporalio/client';
import { createCampaignActivities, type CampaignStorage } from './campaign-activities';
import { createInputValidationActivities } from './input-validation';
import { createUpgradeActivities, type CommandPublisher, type DeviceStatusReader } from './upgrade-activities';

export * from './campaign-activities';
export * from './input-validation';
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
    /**
     * Asks the server to hand each started upgrade's first workflow task straight back to this worker.
     * Only for a `temporal` client built on the worker's own NativeConnection; the SDK rejects it otherwise.
     */
    eagerStart?: boolean;
  };
}

/** Creates every activity the worker registers. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createUpgradeActivities(deps),
    ...createCampaignActivities(deps.campaigns),
    ...createInputValidationActivities(),
  };
}

export type UpgradeActivities = ReturnType<typeof createActivities>;

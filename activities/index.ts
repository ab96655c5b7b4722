import { createUpgradeActivities, type CommandPublisher, type DeviceStatusReader } from './upgrade-activities';

export * from './upgrade-activities';

/** Everything the activities need, injected so tests and processes choose the real clients. */
export interface ActivityDependencies {
  publisher: CommandPublisher;
  devices: DeviceStatusReader;
}

/** Creates every activity the worker registers. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createUpgradeActivities(deps),
  };
}

export type UpgradeActivities = ReturnType<typeof createActivities>;

import type { SimDevice } from './sim-device';

/** Counts over a fleet at one moment, for the periodic and final log lines. */
export interface FleetSummary {
  devices: number;
  online: number;
  commandsAccepted: number;
  commandsIgnored: number;
  runsInProgress: number;
  runsFinished: number;
  runsAborted: number;
  /** Number of devices running each firmware_ver. */
  versions: Record<string, number>;
}

/** Counts the state of `devices`; run counts cover the runs each device still keeps in its history. */
export function summarizeFleet(devices: readonly SimDevice[]): FleetSummary {
  const summary: FleetSummary = {
    devices: devices.length,
    online: 0,
    commandsAccepted: 0,
    commandsIgnored: 0,
    runsInProgress: 0,
    runsFinished: 0,
    runsAborted: 0,
    versions: {},
  };
  for (const device of devices) {
    if (device.online) summary.online += 1;
    if (device.isRunning) summary.runsInProgress += 1;
    summary.commandsAccepted += device.acceptedCommandCount;
    summary.commandsIgnored += device.ignoredCommandCount;
    for (const run of device.runs) {
      if (run.result === 'finished') summary.runsFinished += 1;
      else summary.runsAborted += 1;
    }
    summary.versions[device.currentVersion] = (summary.versions[device.currentVersion] ?? 0) + 1;
  }
  return summary;
}

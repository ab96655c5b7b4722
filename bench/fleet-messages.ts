/** Settings of the fleet runner process, passed as JSON in its first argument. */
export interface FleetRunnerConfig {
  mqttUrl: string;
  productName: string;
  count: number;
  firmwareVersion: string;
  timings: { steps: number; stepIntervalMs: number; installDelayMs: number };
  /** 0 gives each device its own MQTT connection; N > 0 spreads the devices over N shared connections. */
  sharedConnections: number;
  /** Devices whose reports are recorded one by one for the latency figures. */
  sampledDevices: string[];
}

/** One report of a sampled device, as the simulator published it. Times are milliseconds since the epoch. */
export interface PublishRecord {
  deviceName: string;
  messageId: string;
  /** Progress value, or undefined for a status report. */
  progress: number | undefined;
  /** Just before the publish call. */
  publishedAt: number;
}

/** Counts over the whole fleet when the runner stops. */
export interface FleetTotals {
  devices: number;
  runsFinished: number;
  runsAborted: number;
  /** Reports of upgrade runs that the broker acknowledged; the status reports on connection are not counted. */
  runReports: number;
  publishFailures: number;
  commandsIgnored: number;
  versions: Record<string, number>;
}

/** Messages the fleet runner sends to the benchmark over IPC. */
export type FleetRunnerMessage =
  | { type: 'started'; connectMs: number }
  | { type: 'result'; totals: FleetTotals; records: PublishRecord[] };

/** Messages the benchmark sends to the fleet runner. */
export type FleetRunnerCommand = { type: 'finish' };

export function isFleetMessage<T extends FleetRunnerMessage['type']>(message: unknown, type: T): message is Extract<FleetRunnerMessage, { type: T }> {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

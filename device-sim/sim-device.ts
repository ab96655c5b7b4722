import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { z } from 'zod';
import { assertDeviceRef, CommandName, deviceCommandFilter, firmwareVersionSchema, type DeviceRef, type OtaUpgradePayload } from '../protocol';
import type { Logger } from '../observability/logger';
import { inspectCommand, RecentRequestIds, type CommandOutcome, type CommandRecord } from './command-intake';
import type { DeviceLink } from './device-link';
import { DEFAULT_MQTT_URL, type MqttEndpoint } from './mqtt-endpoint';
import { OwnConnectionLink } from './own-connection-link';
import { buildReportPlan, type PlannedReport, type PlannedStep } from './report-plan';
import { ReportPublisher, type PublishedReport } from './report-publisher';
import { parseScenarioSequenceText, scenarioForAttempt, scenarioSequenceSchema, type Scenario, type ScenarioSequence } from './scenarios';
import { resolveTimings, type Timings } from './timings';
import { waitForValue } from './wait-for';

/** Scenarios as a caller may give them: text such as `stall@60+success`, one scenario, or a list. */
export type ScenarioOption = string | z.input<typeof scenarioSequenceSchema>;

export interface SimDeviceOptions {
  productName: string;
  deviceName: string;
  /** firmware_ver the device runs before any upgrade. Default '1.0'. */
  firmwareVersion?: string;
  /** Scenarios for successive accepted `$ota_upgrade` commands, the last one repeating. Default success. */
  scenarios?: ScenarioOption;
  /** Pace of a run; unset fields take the defaults of timingsSchema. */
  timings?: Partial<Timings>;
  /** Broker URL. Default: the MQTT_URL environment variable, else mqtt://127.0.0.1:1883. */
  mqttUrl?: string;
  username?: string;
  password?: string;
  /** MQTT client id of the device's own connection. Default `device-{productName}-{deviceName}`. */
  clientId?: string;
  /** A link to use instead of a connection of the device's own, such as a SharedConnection's link. */
  link?: DeviceLink;
  /** Receives warnings about ignored commands and failed publishes. Default: no logging. */
  logger?: Logger;
  /** Clock for expiry checks and records, in milliseconds since the epoch. Default Date.now. */
  now?: () => number;
}

/** One accepted `$ota_upgrade` and the scenario the device runs for it. */
export interface RunInfo {
  requestId: string;
  /** Number of `$ota_upgrade` commands this device accepted so far, this one included. */
  attempt: number;
  scenario: Scenario;
  command: OtaUpgradePayload;
  startedAt: number;
}

/** A run that ended: `finished` when every planned report went out, `aborted` when a newer command or close() cut it short. */
export interface RunResult extends RunInfo {
  result: 'finished' | 'aborted';
  endedAt: number;
  reports: PublishedReport[];
  failedPublishes: number;
}

export interface SimDeviceEvents {
  connected: [];
  disconnected: [];
  command: [record: CommandRecord];
  runStarted: [run: RunInfo];
  report: [report: PublishedReport];
  runEnded: [result: RunResult];
  publishFailed: [failure: { report: PlannedReport; requestId: string | undefined; error: Error }];
}

export interface WaitOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** False waits only for events after the call. Default true: a match received earlier counts. */
  includeEarlier?: boolean;
}

/** Entries kept in each history list (commands, reports, runs); older ones are dropped first. */
export const MAX_HISTORY = 1000;

const DEFAULT_WAIT_MS = 10_000;

interface ActiveRun {
  info: RunInfo;
  controller: AbortController;
  done: Promise<RunResult>;
}

/**
 * A simulated IotHub device. It subscribes to its commands at QoS 1 on a persistent session,
 * reports `{firmware_ver}` whenever it comes online, and handles each valid `$ota_upgrade` by
 * running the scenario chosen for that attempt. Commands that are invalid, expired, unsupported or
 * redelivered are recorded and ignored. A newer `$ota_upgrade` aborts the run in progress.
 */
export class SimDevice extends EventEmitter<SimDeviceEvents> {
  readonly productName: string;
  readonly deviceName: string;
  private version: string;
  private scenarios: ScenarioSequence;
  private readonly timings: Timings;
  private readonly link: DeviceLink;
  private readonly publisher: ReportPublisher;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly seenRequestIds = new RecentRequestIds();
  private readonly commands: CommandRecord[] = [];
  private readonly reports: PublishedReport[] = [];
  private readonly runResults: RunResult[] = [];
  private acceptedCount = 0;
  private ignoredCount = 0;
  private activeRun: ActiveRun | undefined;
  private connectReport: Promise<void> = Promise.resolve();
  private state: 'new' | 'started' | 'closed' = 'new';

  constructor(options: SimDeviceOptions) {
    super();
    const ref = assertDeviceRef(options.productName, options.deviceName);
    this.productName = ref.productName;
    this.deviceName = ref.deviceName;
    this.version = parseFirmwareVersion(options.firmwareVersion ?? '1.0');
    this.scenarios = resolveScenarios(options.scenarios, ref);
    this.timings = resolveTimings(options.timings);
    this.now = options.now ?? Date.now;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ productName: ref.productName, deviceName: ref.deviceName });
    this.link = options.link ?? createOwnLink(options, ref, this.logger);
    this.publisher = new ReportPublisher(ref, this.link, this.now);
  }

  get ref(): DeviceRef {
    return { productName: this.productName, deviceName: this.deviceName };
  }

  /** firmware_ver the device runs now; it changes when a run reports the installed version. */
  get currentVersion(): string {
    return this.version;
  }

  get online(): boolean {
    return this.link.online;
  }

  get isRunning(): boolean {
    return this.activeRun !== undefined;
  }

  /** Every command received, in order of arrival, including the ignored ones (last MAX_HISTORY). */
  get commandsReceived(): readonly CommandRecord[] {
    return this.commands;
  }

  /** Every report the broker acknowledged, in order of acknowledgement (last MAX_HISTORY). */
  get reportsPublished(): readonly PublishedReport[] {
    return this.reports;
  }

  /** Runs that ended, oldest first (last MAX_HISTORY). */
  get runs(): readonly RunResult[] {
    return this.runResults;
  }

  get acceptedCommandCount(): number {
    return this.acceptedCount;
  }

  get ignoredCommandCount(): number {
    return this.ignoredCount;
  }

  /** Replaces the scenarios of later attempts; the attempt count goes on from where it is. */
  setScenarios(scenarios: ScenarioOption): void {
    this.scenarios = resolveScenarios(scenarios, this.ref);
  }

  /** Connects, subscribes to the device's commands, and resolves once the first status report was acknowledged. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`device ${this.productName}/${this.deviceName} was already started`);
    this.state = 'started';
    await this.link.open({
      onConnect: () => this.handleConnect(),
      onMessage: (topic, payload) => this.handleMessage(topic, payload),
    });
    await this.connectReport;
  }

  /** Cuts the connection, as a network failure would; runs go on and their reports wait for reconnect(). */
  async disconnect(): Promise<void> {
    this.assertStarted('disconnect');
    await this.link.goOffline();
    this.emit('disconnected');
  }

  /** Restores the connection and resolves once the status report of the new connection was acknowledged. */
  async reconnect(): Promise<void> {
    this.assertStarted('reconnect');
    await this.link.goOnline();
    await this.connectReport;
  }

  /** Aborts the run in progress and disconnects for good. Reports not yet sent are dropped. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const run = this.activeRun;
    run?.controller.abort();
    await this.link.close();
    if (run !== undefined) await run.done;
  }

  /** Publishes `{firmware_ver: currentVersion}` on the status topic. */
  async reportStatus(): Promise<void> {
    await this.sendReport({ kind: 'status', firmwareVersion: this.version }, 1, undefined);
  }

  /** Resolves with the first received command that has every given field. */
  waitForCommand(match: { requestId?: string; outcome?: CommandOutcome } = {}, options: WaitOptions = {}): Promise<CommandRecord> {
    const from = options.includeEarlier === false ? this.commands.length : 0;
    const matches = (record: CommandRecord) =>
      (match.requestId === undefined || record.requestId === match.requestId) && (match.outcome === undefined || record.outcome === match.outcome);
    return waitForValue(
      this,
      'command',
      () => this.commands.slice(from).find(matches),
      options.timeoutMs ?? DEFAULT_WAIT_MS,
      () => `timed out waiting for a command ${JSON.stringify(match)} on device ${this.productName}/${this.deviceName}`,
    );
  }

  /** Resolves with the first acknowledged report for which `predicate` returns true. */
  waitForReport(predicate: (report: PublishedReport) => boolean, options: WaitOptions = {}): Promise<PublishedReport> {
    const from = options.includeEarlier === false ? this.reports.length : 0;
    return waitForValue(
      this,
      'report',
      () => this.reports.slice(from).find(predicate),
      options.timeoutMs ?? DEFAULT_WAIT_MS,
      () => `timed out waiting for a matching report from device ${this.productName}/${this.deviceName}`,
    );
  }

  /**
   * Resolves with the result of the run for `requestId`, or without one, of the run in progress
   * (or the last run when none is in progress).
   */
  waitForRunEnd(requestId?: string, options: Pick<WaitOptions, 'timeoutMs'> = {}): Promise<RunResult> {
    const target = requestId ?? this.activeRun?.info.requestId ?? this.runResults[this.runResults.length - 1]?.requestId;
    if (target === undefined) return Promise.reject(new Error(`device ${this.productName}/${this.deviceName} has not run any scenario`));
    return waitForValue(
      this,
      'runEnded',
      () => this.runResults.find((result) => result.requestId === target),
      options.timeoutMs ?? DEFAULT_WAIT_MS,
      () => `timed out waiting for the run of request ${target} on device ${this.productName}/${this.deviceName}`,
    );
  }

  private handleConnect(): void {
    this.emit('connected');
    this.connectReport = this.reportStatus().catch(() => {
      // sendReport already logged the failure and emitted publishFailed.
    });
  }

  private handleMessage(topic: string, payload: Buffer): void {
    if (this.state === 'closed') return;
    const record = inspectCommand(this.ref, topic, payload, this.now(), this.seenRequestIds);
    pushBounded(this.commands, record);

    if (record.outcome !== 'accepted') {
      this.ignoredCount += 1;
      this.logger.warn({ topic, requestId: record.requestId, outcome: record.outcome, reason: record.reason }, 'ignored a command');
    }
    this.emit('command', record);
    if (record.outcome === 'accepted' && record.commandName === CommandName.OTA_UPGRADE) this.startRun(record);
  }

  private startRun(record: CommandRecord): void {
    this.acceptedCount += 1;
    const info: RunInfo = {
      requestId: record.requestId!,
      attempt: this.acceptedCount,
      scenario: scenarioForAttempt(this.scenarios, this.acceptedCount),
      command: record.payload!,
      startedAt: this.now(),
    };
    // A real device drops an unfinished download when a new upgrade command arrives.
    this.activeRun?.controller.abort();

    const steps = buildReportPlan({ scenario: info.scenario, command: info.command, currentVersion: this.version, timings: this.timings });
    const controller = new AbortController();
    const run: ActiveRun = { info, controller, done: this.executeRun(info, steps, controller.signal) };
    this.activeRun = run;
    this.emit('runStarted', info);
    void run.done.then((result) => {
      if (this.activeRun === run) this.activeRun = undefined;
      pushBounded(this.runResults, result);
      this.emit('runEnded', result);
    });
  }

  private async executeRun(info: RunInfo, steps: PlannedStep[], signal: AbortSignal): Promise<RunResult> {
    // Yielding first lets startRun register the run before any report of it goes out.
    await Promise.resolve();
    const reports: PublishedReport[] = [];
    const sends: Promise<void>[] = [];
    let failedPublishes = 0;
    let aborted = false;

    for (const step of steps) {
      aborted = !(await waitUnlessAborted(step.delayMs, signal));
      if (aborted) break;
      if (step.report.kind === 'status') this.version = step.report.firmwareVersion;
      // Reports are not awaited one by one: a device keeps downloading while its MQTT library
      // delivers, and while offline the reports queue up.
      sends.push(
        this.sendReport(step.report, step.copies, info.requestId).then(
          (published) => void reports.push(...published),
          () => void (failedPublishes += 1),
        ),
      );
    }

    await Promise.all(sends);
    return { ...info, result: aborted ? 'aborted' : 'finished', endedAt: this.now(), reports, failedPublishes };
  }

  private async sendReport(report: PlannedReport, copies: 1 | 2, requestId: string | undefined): Promise<PublishedReport[]> {
    try {
      const published = await this.publisher.publish(report, copies, requestId);
      for (const entry of published) {
        pushBounded(this.reports, entry);
        this.emit('report', entry);
      }
      return published;
    } catch (error) {
      if (this.state !== 'closed') this.logger.error({ err: error, requestId, report }, 'publishing a report failed');
      this.emit('publishFailed', { report, requestId, error: error as Error });
      throw error;
    }
  }

  private assertStarted(action: string): void {
    if (this.state !== 'started') throw new Error(`cannot ${action} device ${this.productName}/${this.deviceName}: it is ${this.state === 'new' ? 'not started' : 'closed'}`);
  }
}

/** Waits `delayMs`, returning false when `signal` aborted before or during the wait. */
async function waitUnlessAborted(delayMs: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (delayMs <= 0) return true;
  try {
    await sleep(delayMs, undefined, { signal });
    return true;
  } catch (error) {
    if ((error as Error).name === 'AbortError') return false;
    throw error;
  }
}

function pushBounded<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > MAX_HISTORY) list.shift();
}

function parseFirmwareVersion(version: string): string {
  const parsed = firmwareVersionSchema.safeParse(version);
  if (!parsed.success) throw new Error(`invalid firmwareVersion '${version}': ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

function resolveScenarios(option: ScenarioOption | undefined, ref: DeviceRef): ScenarioSequence {
  if (option === undefined) return [{ kind: 'success' }];
  if (typeof option === 'string') return parseScenarioSequenceText(option);
  const parsed = scenarioSequenceSchema.safeParse(option);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid scenarios for device ${ref.productName}/${ref.deviceName}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function createOwnLink(options: SimDeviceOptions, ref: DeviceRef, logger: Logger): DeviceLink {
  const endpoint: MqttEndpoint = {
    url: options.mqttUrl ?? process.env.MQTT_URL ?? DEFAULT_MQTT_URL,
    username: options.username,
    password: options.password,
  };
  return new OwnConnectionLink({
    endpoint,
    clientId: options.clientId ?? `device-${ref.productName}-${ref.deviceName}`,
    commandFilter: deviceCommandFilter(ref),
    logger,
  });
}

import { productNameSchema } from '../protocol';
import type { Logger } from '../observability/logger';
import { summarizeFleet, type FleetSummary } from './fleet-summary';
import type { MqttEndpoint } from './mqtt-endpoint';
import { assignScenarios, type ScenarioMix } from './scenario-mix';
import { formatScenario } from './scenarios';
import { SharedConnection } from './shared-connection';
import { SimDevice } from './sim-device';
import type { Timings } from './timings';

export interface FleetOptions {
  productName: string;
  /** Number of devices. */
  count: number;
  /** Number in the first device's name. Default 1, giving `dev-00001`. */
  firstIndex?: number;
  /** Default 'dev-'. */
  namePrefix?: string;
  /** firmware_ver every device starts with. Default '1.0'. */
  firmwareVersion?: string;
  /** Default: every device succeeds. */
  mix?: ScenarioMix;
  timings?: Partial<Timings>;
  endpoint: MqttEndpoint;
  /**
   * 0 (the default) gives each device an MQTT connection of its own. N > 0 spreads the devices over
   * N shared connections; with N = 1 the connection subscribes with one product-wide wildcard.
   */
  sharedConnections?: number;
  /** Maximum number of devices connecting at the same time. Default 50. */
  connectConcurrency?: number;
  /** True logs a line for each device event; false leaves only the summaries. Default true. */
  logEvents?: boolean;
  logger: Logger;
}

/** Name of the device with number `index`: prefix and the number padded to 5 digits, such as `dev-00001`. */
export function fleetDeviceName(prefix: string, index: number): string {
  return `${prefix}${String(index).padStart(5, '0')}`;
}

/** Simulated devices of one product, each running its share of a scenario mix. */
export class Fleet {
  readonly devices: readonly SimDevice[];
  private readonly connections: SharedConnection[];
  private readonly logger: Logger;
  private readonly connectConcurrency: number;

  constructor(options: FleetOptions) {
    validateFleetOptions(options);
    this.logger = options.logger;
    this.connectConcurrency = options.connectConcurrency ?? 50;
    this.connections = createSharedConnections(options);

    const assigned = assignScenarios(options.mix ?? { entries: [{ weight: 1, scenarios: [{ kind: 'success' }] }] }, options.count);
    const firstIndex = options.firstIndex ?? 1;
    this.devices = assigned.map((scenarios, offset) => {
      const deviceName = fleetDeviceName(options.namePrefix ?? 'dev-', firstIndex + offset);
      const connection = this.connections[offset % Math.max(this.connections.length, 1)];
      const device = new SimDevice({
        productName: options.productName,
        deviceName,
        firmwareVersion: options.firmwareVersion,
        scenarios,
        timings: options.timings,
        mqttUrl: options.endpoint.url,
        username: options.endpoint.username,
        password: options.endpoint.password,
        link: connection?.createLink(deviceName),
        logger: this.logger,
      });
      if (options.logEvents ?? true) this.logEvents(device);
      return device;
    });
  }

  /** Opens the shared connections, then connects the devices; on any failure closes everything and rethrows. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.connections.map((connection) => connection.open()));
      await forEachLimited(this.devices, this.connectConcurrency, (device) => device.start());
    } catch (error) {
      this.logger.error({ err: error }, 'starting the fleet failed; closing the devices that connected');
      await this.close();
      throw error;
    }
  }

  /** Closes every device and shared connection, logging failures instead of stopping at the first. */
  async close(): Promise<void> {
    await forEachLimited(this.devices, this.connectConcurrency, async (device) => {
      await device.close().catch((error: unknown) => {
        this.logger.error({ err: error, deviceName: device.deviceName }, 'closing a simulated device failed');
      });
    });
    for (const connection of this.connections) {
      await connection.close().catch((error: unknown) => {
        this.logger.error({ err: error, mqttClientId: connection.clientId }, 'closing a shared MQTT connection failed');
      });
    }
  }

  summary(): FleetSummary {
    return summarizeFleet(this.devices);
  }

  /** Number of commands the shared connections received for devices they do not serve. */
  unroutedMessages(): number {
    return this.connections.reduce((sum, connection) => sum + connection.unroutedMessages, 0);
  }

  private logEvents(device: SimDevice): void {
    const log = this.logger.child({ deviceName: device.deviceName });
    device.on('command', (record) => {
      const fields = { event: 'command', requestId: record.requestId, commandName: record.commandName, outcome: record.outcome, reason: record.reason };
      log.info(fields, `command ${record.outcome}`);
    });
    device.on('runStarted', (run) => {
      log.info({ event: 'run_started', requestId: run.requestId, attempt: run.attempt, scenario: formatScenario(run.scenario), targetVersion: run.command.version }, 'upgrade run started');
    });
    device.on('report', (report) => {
      log.info({ event: 'report', kind: report.kind, messageId: report.messageId, copy: report.copy, ...report.body }, `reported ${report.kind}`);
    });
    device.on('runEnded', (result) => {
      log.info({ event: 'run_ended', requestId: result.requestId, result: result.result, failedPublishes: result.failedPublishes, firmwareVersion: device.currentVersion }, `upgrade run ${result.result}`);
    });
    device.on('disconnected', () => log.info({ event: 'disconnected' }, 'device disconnected'));
  }
}

function validateFleetOptions(options: FleetOptions): void {
  const product = productNameSchema.safeParse(options.productName);
  if (!product.success) throw new Error(`invalid productName '${options.productName}': ${product.error.issues[0]?.message}`);
  if (!Number.isInteger(options.count) || options.count < 1) throw new Error(`invalid device count ${options.count}: must be a whole number of at least 1`);
  const shared = options.sharedConnections ?? 0;
  if (!Number.isInteger(shared) || shared < 0) throw new Error(`invalid sharedConnections ${shared}: must be a whole number of at least 0`);
  const concurrency = options.connectConcurrency ?? 50;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`invalid connectConcurrency ${concurrency}: must be a whole number of at least 1`);
}

function createSharedConnections(options: FleetOptions): SharedConnection[] {
  const count = Math.min(options.sharedConnections ?? 0, options.count);
  return Array.from({ length: count }, (_, index) => {
    return new SharedConnection({
      endpoint: options.endpoint,
      // Stable ids let the broker keep each connection's session, and so its queued commands, across
      // restarts. The first index distinguishes fleets of one product that run in separate processes.
      clientId: `device-sim-${options.productName}-${(options.firstIndex ?? 1)}-${index + 1}`,
      productName: options.productName,
      useProductWildcard: count === 1,
      logger: options.logger,
    });
  });
}

/** Runs `action` on every item with at most `limit` running at once, and rejects with the first failure. */
async function forEachLimited<T>(items: readonly T[], limit: number, action: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await action(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}


import pino from 'pino';
import { Fleet } from '../device-sim/fleet';
import type { FleetRunnerCommand, FleetRunnerConfig, FleetRunnerMessage, FleetTotals, PublishRecord } from './fleet-messages';

/**
 * Runs the simulated fleet of a benchmark in a process of its own, so that its CPU time and memory are
 * measured apart from the engine. It connects every device (each reports its firmware_ver on
 * connection) and sends `started`. The devices then run the commands they receive until the benchmark
 * sends `finish`, and the runner replies with the totals and the publish times of the sampled devices.
 */
async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as FleetRunnerConfig;
  const logger = pino({ level: 'warn', base: { service: 'bench-fleet' } });
  const fleet = new Fleet({
    productName: config.productName,
    count: config.count,
    firmwareVersion: config.firmwareVersion,
    timings: config.timings,
    endpoint: { url: config.mqttUrl },
    sharedConnections: config.sharedConnections,
    logEvents: false,
    logger,
  });

  const sampled = new Set(config.sampledDevices);
  const records: PublishRecord[] = [];
  let runReports = 0;
  let publishFailures = 0;
  for (const device of fleet.devices) {
    const isSampled = sampled.has(device.deviceName);
    device.on('report', (report) => {
      // Reports without a request id are the status reports on connection, which register the device.
      if (report.requestId === undefined) return;
      runReports += 1;
      if (!isSampled || report.copy !== 1) return;
      const progress = typeof report.body.progress === 'number' ? report.body.progress : undefined;
      records.push({ deviceName: device.deviceName, messageId: report.messageId, progress, publishedAt: report.issuedAt });
    });
    device.on('publishFailed', () => {
      publishFailures += 1;
    });
  }

  let finishing = false;
  const finish = async (reply: boolean) => {
    if (finishing) return;
    finishing = true;
    const summary = fleet.summary();
    const totals: FleetTotals = {
      devices: summary.devices,
      runsFinished: summary.runsFinished,
      runsAborted: summary.runsAborted,
      runReports,
      publishFailures,
      commandsIgnored: summary.commandsIgnored,
      versions: summary.versions,
    };
    if (reply) send({ type: 'result', totals, records });
    await fleet.close();
    process.disconnect?.();
    process.exit(0);
  };

  process.on('message', (message: FleetRunnerCommand) => {
    if (message.type === 'finish') void finish(true);
  });
  // The benchmark stops the runner with SIGTERM on Ctrl-C, and a lost IPC channel means it died.
  process.on('SIGTERM', () => void finish(false));
  process.on('SIGINT', () => void finish(false));
  process.on('disconnect', () => void finish(false));

  const startedAt = Date.now();
  await fleet.start();
  send({ type: 'started', connectMs: Date.now() - startedAt });
}

function send(message: FleetRunnerMessage): void {
  process.send?.(message);
}

main().catch((error: unknown) => {
  process.stderr.write(`fleet runner failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

import path from 'node:path';
import { startBenchMosquitto } from './bench-servers';
import { Cleanup } from './cleanup';
import { isFleetMessage, type FleetTotals } from './fleet-messages';
import { registrationTimeoutMs, startFleetRunner } from './fleet-process';
import { readLogIssues, type LogIssues } from './log-issues';
import type { MqttFloorConfig, MqttFloorMessage } from './mqtt-floor-subscriber';
import { NodeProcess } from './node-process';
import { summarizeLatencies, type LatencySummary } from './percentiles';
import { phaseFolder, type PhaseContext } from './phase-context';
import { ProcessMeter, type ProcessUsage } from './process-stats';
import { waitUntil } from './readiness';
import { BENCH_FIRMWARE, BENCH_PRODUCT, pacingBoundPerMinute, reportsPerDevice, sampleDeviceNames, type Workload } from './workload';

/** Figures of the MQTT floor over `size` devices. */
export interface MqttFloorResult {
  kind: 'mqtt-floor';
  size: number;
  workload: Workload;
  fleetConnections: number;
  /** From the first command until the last device's new version arrived, in milliseconds. */
  wallTimeMs: number;
  finishedDevices: number;
  devicesPerMinute: number;
  pacingBoundPerMinute: number;
  reportsExpected: number;
  reportsReceived: number;
  /** From the device's publish call to the subscriber's message event, over the sampled devices, in milliseconds. */
  latencyMs: LatencySummary;
  fleet: FleetTotals;
  processes: Record<string, ProcessUsage>;
  logIssues: Record<string, LogIssues>;
}

type DoneMessage = Extract<MqttFloorMessage, { type: 'done' }>;

/**
 * Measures what the broker and the simulated fleet alone allow: the same fleet process, report counts
 * and pacing as the engine run, with a plain mqtt.js client sending the commands with the same window
 * and counting the reports.
 */
export async function runMqttFloor(context: PhaseContext, size: number): Promise<MqttFloorResult> {
  const folder = phaseFolder(context, size, 'mqtt-floor');
  const cleanup = new Cleanup();
  const { abort, progress, workload } = context;
  try {
    progress(`n=${size} MQTT floor: starting a fresh Mosquitto in ${folder}`);
    const mosquitto = await startBenchMosquitto(folder, cleanup, context.logger);
    const sampled = sampleDeviceNames(size, context.latencySample);

    const config: MqttFloorConfig = { mqttUrl: mosquitto.handle.url, productName: BENCH_PRODUCT, count: size, window: workload.window, firmware: BENCH_FIRMWARE, sampledDevices: sampled };
    const subscriber = new NodeProcess({
      name: 'subscriber',
      script: 'bench/mqtt-floor-subscriber.js',
      args: [JSON.stringify(config)],
      env: process.env,
      logPath: path.join(folder, 'subscriber.log'),
    });
    cleanup.add('subscriber', () => subscriber.stop());
    const isType = <T extends MqttFloorMessage['type']>(type: T) => (message: unknown) =>
      (message as MqttFloorMessage).type === type ? (message as Extract<MqttFloorMessage, { type: T }>) : undefined;
    await subscriber.waitForMessage(isType('subscribed'), abort);
    // Registered is sent once, so the wait starts before the fleet can cause it.
    const registered = subscriber.waitForMessage(isType('registered'), abort);
    // A failure before the await below must not surface as an unhandled rejection; the await reports it.
    registered.catch(() => undefined);

    progress(`n=${size} MQTT floor: connecting ${size} simulated devices`);
    const fleet = startFleetRunner(context, folder, mosquitto.handle.url, size, sampled);
    cleanup.add('simulator', () => fleet.stop());
    await fleet.waitForMessage((message) => (isFleetMessage(message, 'started') ? message : undefined), abort);
    await withTimeout(registered, registrationTimeoutMs(size), `all ${size} devices to report their status`);

    const meter = new ProcessMeter();
    meter.add('mosquitto', mosquitto.pid);
    meter.add('simulator', fleet.pid);
    meter.add('subscriber', subscriber.pid);
    meter.start();
    progress(`n=${size} MQTT floor: commanding ${size} devices, window ${workload.window}`);
    const done = subscriber.waitForMessage(isType('done'), abort);
    subscriber.send({ type: 'start' });
    let result: DoneMessage | undefined;
    void done.then((value) => {
      result = value;
    }, () => undefined);
    await waitUntil(
      'every device to report its new version',
      async () => {
        meter.sample();
        return result;
      },
      { timeoutMs: context.phaseTimeoutMs(size), intervalMs: 500, abort, processes: [subscriber, fleet] },
    );
    const processes = meter.finish();
    const finished = result!;

    fleet.send({ type: 'finish' });
    const fleetResult = await fleet.waitForMessage((message) => (isFleetMessage(message, 'result') ? message : undefined), abort);

    const received = new Map(finished.records.map((record) => [record.messageId, record.receivedAt]));
    const latencies = fleetResult.records.flatMap((record) => {
      const receivedAt = received.get(record.messageId);
      return receivedAt === undefined ? [] : [receivedAt - record.publishedAt];
    });
    const wallTimeMs = finished.endedAt - finished.startedAt;
    return {
      kind: 'mqtt-floor',
      size,
      workload,
      fleetConnections: context.fleetConnections(size),
      wallTimeMs,
      finishedDevices: finished.finishedDevices,
      devicesPerMinute: Math.round((finished.finishedDevices * 60_000) / Math.max(wallTimeMs, 1)),
      pacingBoundPerMinute: Math.round(pacingBoundPerMinute(workload, size)),
      reportsExpected: size * reportsPerDevice(workload),
      reportsReceived: finished.progressReports + finished.statusReports,
      latencyMs: summarizeLatencies(latencies),
      fleet: fleetResult.totals,
      processes,
      logIssues: { simulator: readLogIssues(fleet.logPath), subscriber: readLogIssues(subscriber.logPath) },
    };
  } finally {
    progress(`n=${size} MQTT floor: stopping every process of the phase`);
    await cleanup.run();
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

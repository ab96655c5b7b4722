import path from 'node:path';
import type { FleetRunnerConfig } from './fleet-messages';
import { NodeProcess } from './node-process';
import type { PhaseContext } from './phase-context';
import { BENCH_PRODUCT, START_VERSION } from './workload';

/** Starts the fleet runner for `size` devices on `mqttUrl`; the caller registers its stop. */
export function startFleetRunner(context: PhaseContext, folder: string, mqttUrl: string, size: number, sampledDevices: string[]): NodeProcess {
  const config: FleetRunnerConfig = {
    mqttUrl,
    productName: BENCH_PRODUCT,
    count: size,
    firmwareVersion: START_VERSION,
    timings: { steps: context.workload.steps, stepIntervalMs: context.workload.stepIntervalMs, installDelayMs: context.workload.installDelayMs },
    sharedConnections: context.fleetConnections(size),
    sampledDevices,
  };
  return new NodeProcess({
    name: 'simulator',
    script: 'bench/fleet-runner.js',
    args: [JSON.stringify(config)],
    env: process.env,
    logPath: path.join(folder, 'simulator.log'),
    // 100,000 simulated devices with their report histories need more than Node's default heap limit.
    execArgv: ['--max-old-space-size=8192'],
  });
}

/** Time for the fleet to connect and register: generous, because FerretDB slows down as the registry grows. */
export function registrationTimeoutMs(size: number): number {
  return 120_000 + size * 20;
}

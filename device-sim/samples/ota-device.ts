import { parseArgs } from 'node:util';
import { loadMqttSettings } from '../../config/settings';
import { SimDevice } from '../sim-device';
import type { Timings } from '../timings';
import { readDeviceArguments } from './device-arguments';

export interface OtaDeviceSampleOptions {
  productName: string;
  deviceName: string;
  /** Default: the MQTT_URL environment variable, else mqtt://127.0.0.1:1883. */
  mqttUrl?: string;
  username?: string;
  password?: string;
  /** Default '1.0'. */
  firmwareVersion?: string;
  /** Default: the demo's pace of 5 steps 2000 ms apart and 3000 ms of installing. */
  timings?: Partial<Timings>;
  /** Receives each output line. Default console.log. */
  print?: (line: string) => void;
}

export const DEMO_TIMINGS: Timings = { stepIntervalMs: 2000, steps: 5, installDelayMs: 3000 };

/**
 * Starts the IotHub demo device and resolves once it is connected and has reported its firmware_ver.
 * The device runs firmware 1.0 and handles `$ota_upgrade` by printing what it will install,
 * reporting download progress 0, 20, ..., 100 every 2 s (printing `download:N`), and reporting the
 * new firmware_ver 3 s after the download.
 */
export async function startOtaDevice(options: OtaDeviceSampleOptions): Promise<SimDevice> {
  const print = options.print ?? ((line: string) => console.log(line));
  const device = new SimDevice({
    productName: options.productName,
    deviceName: options.deviceName,
    firmwareVersion: options.firmwareVersion ?? '1.0',
    scenarios: 'success',
    timings: { ...DEMO_TIMINGS, ...options.timings },
    mqttUrl: options.mqttUrl,
    username: options.username,
    password: options.password,
  });

  device.on('runStarted', (run) => print(`going to upgrade ${run.command.type}: ${run.command.url}, version=${run.command.version}`));
  device.on('report', (report) => {
    if (report.kind === 'update_ota_status' && report.copy === 1) print(`download:${String(report.body.progress)}`);
  });
  await device.start();
  return device;
}

/** Runs the demo device until SIGINT or SIGTERM. Returns the process exit code. */
export async function main(argv: string[] = process.argv.slice(2), env: Record<string, string | undefined> = process.env): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const target = readDeviceArguments(positionals, env);
  if (typeof target === 'string') {
    console.error(target);
    return 2;
  }
  const { productName, deviceName } = target;

  const mqtt = loadMqttSettings(env);
  let device: SimDevice;
  try {
    device = await startOtaDevice({ productName, deviceName, mqttUrl: mqtt.url, username: mqtt.username, password: mqtt.password });
  } catch (error) {
    console.error(`device ${productName}/${deviceName} could not start: ${(error as Error).message}`);
    return 1;
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await device.close();
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`ota-device failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseScenarioMixJson, parseScenarioMixText, type ScenarioMix } from './scenario-mix';
import type { Timings } from './timings';

export const FLEET_USAGE = `Usage: node dist/device-sim/main.js --product NAME [options]

Runs simulated IotHub devices that answer $ota_upgrade commands.

Options:
  --product NAME               product of the devices (default: TARGET_PRODUCT_NAME)
  --count N                    number of devices (default 10)
  --first-index N              number in the first device name, dev-00001 for 1 (default 1)
  --name-prefix TEXT           prefix of the device names (default dev-)
  --firmware-version VERSION   firmware_ver the devices start with (default 1.0)
  --mix TEXT                   scenario shares, such as success=90,download_error@40+success=5,stall@60=5
                               (default success=100)
  --mix-file PATH              JSON file with the scenario mix, instead of --mix
  --step-interval-ms N         time between two progress reports, in ms (default 2000)
  --steps N                    progress steps from 0 to 100 (default 5)
  --install-delay-ms N         time from progress 100 to the firmware_ver report, in ms (default 3000)
  --shared-connections N       spread the devices over N MQTT connections; 0 gives each its own (default 0)
  --connect-concurrency N      maximum devices connecting at once (default 50)
  --summary-interval-ms N      time between summary lines, in ms; 0 logs one only at exit (default 10000)
  --quiet                      log summaries only, no line per device event
  --help                       print this text

Scenarios: success, stall@P, download_error@P, md5_error, install_error, other_error@P,
reboot_old_version, duplicates, out_of_order, stale_reports[@VERSION], silent.
Join scenarios with + for successive attempts: download_error@40+success fails once, then succeeds.

Environment: MQTT_URL (default mqtt://127.0.0.1:1883), MQTT_USERNAME, MQTT_PASSWORD, LOG_LEVEL.`;

export interface FleetCliOptions {
  help: boolean;
  productName: string;
  count: number;
  firstIndex: number;
  namePrefix: string;
  firmwareVersion: string;
  mix: ScenarioMix;
  timings: Partial<Timings>;
  sharedConnections: number;
  connectConcurrency: number;
  summaryIntervalMs: number;
  logEvents: boolean;
}

/** Parses the fleet command line; throws an error that names the invalid option and value. */
export function parseFleetArgs(argv: string[], env: Record<string, string | undefined> = process.env): FleetCliOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      product: { type: 'string' },
      count: { type: 'string' },
      'first-index': { type: 'string' },
      'name-prefix': { type: 'string' },
      'firmware-version': { type: 'string' },
      mix: { type: 'string' },
      'mix-file': { type: 'string' },
      'step-interval-ms': { type: 'string' },
      steps: { type: 'string' },
      'install-delay-ms': { type: 'string' },
      'shared-connections': { type: 'string' },
      'connect-concurrency': { type: 'string' },
      'summary-interval-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });

  const productName = values.product ?? env.TARGET_PRODUCT_NAME ?? '';
  if (!values.help && productName === '') throw new Error('missing --product: name the product of the simulated devices, or set TARGET_PRODUCT_NAME');
  if (values.mix !== undefined && values['mix-file'] !== undefined) throw new Error('--mix and --mix-file cannot be used together');

  return {
    help: values.help,
    productName,
    count: parseWholeNumber('--count', values.count, 10, 1),
    firstIndex: parseWholeNumber('--first-index', values['first-index'], 1, 0),
    namePrefix: values['name-prefix'] ?? 'dev-',
    firmwareVersion: values['firmware-version'] ?? '1.0',
    mix: readMix(values.mix, values['mix-file']),
    timings: {
      stepIntervalMs: parseOptionalWholeNumber('--step-interval-ms', values['step-interval-ms'], 0),
      steps: parseOptionalWholeNumber('--steps', values.steps, 1),
      installDelayMs: parseOptionalWholeNumber('--install-delay-ms', values['install-delay-ms'], 0),
    },
    sharedConnections: parseWholeNumber('--shared-connections', values['shared-connections'], 0, 0),
    connectConcurrency: parseWholeNumber('--connect-concurrency', values['connect-concurrency'], 50, 1),
    summaryIntervalMs: parseWholeNumber('--summary-interval-ms', values['summary-interval-ms'], 10_000, 0),
    logEvents: !values.quiet,
  };
}

function readMix(mixText: string | undefined, mixFile: string | undefined): ScenarioMix {
  if (mixFile !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(mixFile, 'utf8'));
    } catch (error) {
      throw new Error(`could not read the scenario mix from ${mixFile}: ${(error as Error).message}`);
    }
    return parseScenarioMixJson(json, mixFile);
  }
  return parseScenarioMixText(mixText ?? 'success=100');
}

function parseWholeNumber(option: string, text: string | undefined, fallback: number, minimum: number): number {
  return parseOptionalWholeNumber(option, text, minimum) ?? fallback;
}

function parseOptionalWholeNumber(option: string, text: string | undefined, minimum: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) {
    throw new Error(`invalid ${option} '${text}': expected a whole number of at least ${minimum}`);
  }
  return value;
}

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readDeviceArguments } from './device-arguments';

export interface PerformOtaOptions {
  /** Base URL of the HTTP API. Default http://127.0.0.1:3000. */
  apiUrl?: string;
  productName: string;
  deviceName: string;
  /** Fields of the upgrade request; unset fields take the demo's values. */
  firmware?: Partial<FirmwareForm>;
  /** Time between two polls, in milliseconds. Default 1000. */
  pollIntervalMs?: number;
  /** Time after which the client gives up, in milliseconds. Default 300 000. */
  timeoutMs?: number;
  /** Receives each progress line. Default console.log. */
  print?: (line: string) => void;
  /** Receives each error line. Default console.error. */
  printError?: (line: string) => void;
}

export interface FirmwareForm {
  type: string;
  url: string;
  version: string;
  size: number;
  md5: string;
}

export const DEMO_FIRMWARE: FirmwareForm = {
  type: 'firmware',
  url: 'http://firmware.example/1.1.pkg',
  version: '1.1',
  size: 1000,
  md5: 'c4ca4238a0b923820dcc509a6f75849b',
};

/** Outcome of the client run; `completed` is the only success. */
export type PerformOtaOutcome =
  | { status: 'completed' }
  | { status: 'rejected'; statusCode: number; message: string }
  | { status: 'failed'; message: string }
  | { status: 'timed_out'; message: string };

// The API's responses are read leniently: only the fields the demo uses are checked, and the report
// fields are null until the device reported anything.
const upgradeStateSchema = z.looseObject({
  phase: z.string().optional(),
  failureReason: z.string().nullish(),
  attempt: z.number().optional(),
});

const otaProgressResponseSchema = z.looseObject({
  version: z.string().nullish(),
  progress: z.number().nullish(),
  desc: z.string().nullish(),
  /** The latest upgrade workflow: its Temporal status and, when a worker returned it, its state. */
  upgrade: z
    .looseObject({
      status: z.string().optional(),
      state: upgradeStateSchema.nullish(),
    })
    .nullish(),
});
type OtaProgressResponse = z.infer<typeof otaProgressResponseSchema>;

const deviceResponseSchema = z.looseObject({
  device_status: z.looseObject({ firmware_ver: z.unknown().optional() }).nullish(),
});

/** Upgrade phases after which the requested version will not come any more. */
const GIVE_UP_PHASES: ReadonlySet<string> = new Set(['failed', 'cancelled']);

/** Temporal statuses of a workflow that ended without succeeding. */
const GIVE_UP_WORKFLOW_STATUSES: ReadonlySet<string> = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

/** Error that ends the client with a message for the user. */
class PerformOtaError extends Error {
  constructor(readonly outcome: Exclude<PerformOtaOutcome, { status: 'completed' }>) {
    super(outcome.message);
  }
}

/**
 * Plays the IotHub demo's business system for one device. Requests the upgrade and prints
 * `statusCode: N`, then `current progress:N%` until the download reaches 100, then
 * `current version:X` until the device runs the new version, and finally `upgrade completed`.
 * Returns how it ended, after printing the reason of any other outcome through `printError`.
 */
export async function performOta(options: PerformOtaOptions): Promise<PerformOtaOutcome> {
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  const firmware = { ...DEMO_FIRMWARE, ...options.firmware };
  const client = new ApiClient(options.apiUrl ?? 'http://127.0.0.1:3000', options.productName, options.deviceName);
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const pollIntervalMs = options.pollIntervalMs ?? 1000;

  try {
    await requestUpgrade(client, firmware, print);
    await followProgress(client, firmware.version, { deadline, pollIntervalMs, print });
    await waitForVersion(client, firmware.version, { deadline, pollIntervalMs, print });
    print('upgrade completed');
    return { status: 'completed' };
  } catch (error) {
    if (!(error instanceof PerformOtaError)) throw error;
    printError(error.message);
    return error.outcome;
  }
}

interface PollSettings {
  deadline: number;
  pollIntervalMs: number;
  print: (line: string) => void;
}

async function requestUpgrade(client: ApiClient, firmware: FirmwareForm, print: (line: string) => void): Promise<void> {
  const response = await client.postForm(`/ota/${client.devicePath}`, {
    type: firmware.type,
    url: firmware.url,
    version: firmware.version,
    size: String(firmware.size),
    md5: firmware.md5,
  });
  print(`statusCode: ${response.status}`);
  if (response.status >= 400) {
    const message = `upgrade request failed with HTTP ${response.status}: ${response.body}`;
    throw new PerformOtaError({ status: 'rejected', statusCode: response.status, message });
  }
}

/** Polls the OTA progress until the target version's download reaches 100 or the upgrade succeeded. */
async function followProgress(client: ApiClient, targetVersion: string, settings: PollSettings): Promise<void> {
  let last: OtaProgressResponse | undefined;
  for (;;) {
    await waitForNextPoll(settings, () => `timed out waiting for the download of version ${targetVersion}; last progress: ${describeProgress(last)}`);
    last = await client.getOtaProgress();
    if (last === undefined) continue;

    assertNotGivenUp(last, targetVersion);
    if (last.version === targetVersion && typeof last.progress === 'number') {
      settings.print(`current progress:${last.progress}%`);
      if (last.progress === 100) return;
    }
    // A device may report the new firmware_ver before its progress 100 reached the API.
    const phase = last.upgrade?.state?.phase;
    if (phase === 'succeeded' || phase === 'skipped' || last.upgrade?.status === 'COMPLETED') return;
  }
}

/** Polls the device until it reports `targetVersion`, checking the upgrade state for a failure after each miss. */
async function waitForVersion(client: ApiClient, targetVersion: string, settings: PollSettings): Promise<void> {
  let lastVersion: string | undefined;
  for (;;) {
    await waitForNextPoll(settings, () => `timed out waiting for the device to report version ${targetVersion}; last reported: ${lastVersion ?? 'none'}`);
    lastVersion = await client.getFirmwareVersion();
    if (lastVersion === undefined) continue;

    settings.print(`current version:${lastVersion}`);
    if (lastVersion === targetVersion) return;
    const progress = await client.getOtaProgress();
    if (progress !== undefined) assertNotGivenUp(progress, targetVersion);
  }
}

async function waitForNextPoll(settings: PollSettings, timeoutMessage: () => string): Promise<void> {
  const remaining = settings.deadline - Date.now();
  if (remaining <= 0) throw new PerformOtaError({ status: 'timed_out', message: timeoutMessage() });
  await sleep(Math.min(settings.pollIntervalMs, remaining));
}

function assertNotGivenUp(progress: OtaProgressResponse, targetVersion: string): void {
  const state = progress.upgrade?.state;
  const status = progress.upgrade?.status;
  const phaseGaveUp = state?.phase !== undefined && GIVE_UP_PHASES.has(state.phase);
  const workflowGaveUp = status !== undefined && GIVE_UP_WORKFLOW_STATUSES.has(status);
  if (!phaseGaveUp && !workflowGaveUp) return;

  const outcome = phaseGaveUp ? state!.phase! : `ended with workflow status ${status}`;
  const attempts = state?.attempt === undefined ? '' : ` after ${state.attempt} attempt(s)`;
  const reason = state?.failureReason ?? 'no reason given';
  throw new PerformOtaError({ status: 'failed', message: `upgrade to version ${targetVersion} ${outcome}${attempts}: ${reason}` });
}

function describeProgress(progress: OtaProgressResponse | undefined): string {
  if (typeof progress?.progress !== 'number') return 'none';
  return `${progress.progress}% of version ${progress.version ?? 'unknown'}`;
}

/** The few API calls of the demo. 404 means "nothing reported yet" on the GET routes. */
class ApiClient {
  readonly devicePath: string;

  constructor(
    private readonly baseUrl: string,
    productName: string,
    deviceName: string,
  ) {
    this.devicePath = `${encodeURIComponent(productName)}/${encodeURIComponent(deviceName)}`;
  }

  async postForm(path: string, fields: Record<string, string>): Promise<{ status: number; body: string }> {
    const response = await this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: response.status, body: await response.text() };
  }

  async getOtaProgress(): Promise<OtaProgressResponse | undefined> {
    const json = await this.getJson(`/ota/${this.devicePath}`);
    return json === undefined ? undefined : this.parse(otaProgressResponseSchema, json, `/ota/${this.devicePath}`);
  }

  async getFirmwareVersion(): Promise<string | undefined> {
    const json = await this.getJson(`/devices/${this.devicePath}`);
    if (json === undefined) return undefined;
    const version = this.parse(deviceResponseSchema, json, `/devices/${this.devicePath}`).device_status?.firmware_ver;
    return version === undefined || version === null ? undefined : String(version);
  }

  private async getJson(path: string): Promise<unknown> {
    const response = await this.send(path, { method: 'GET' });
    if (response.status === 404) return undefined;
    const body = await response.text();
    if (!response.ok) throw new PerformOtaError({ status: 'failed', message: `GET ${path} failed with HTTP ${response.status}: ${body}` });
    try {
      return JSON.parse(body);
    } catch {
      throw new PerformOtaError({ status: 'failed', message: `GET ${path} returned invalid JSON: ${body.slice(0, 200)}` });
    }
  }

  private parse<T>(schema: z.ZodType<T>, json: unknown, path: string): T {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
      throw new PerformOtaError({ status: 'failed', message: `GET ${path} returned an unexpected body: ${problems}` });
    }
    return parsed.data;
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    const url = `${this.baseUrl.replace(/\/+$/, '')}${path}`;
    try {
      return await fetch(url, init);
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new PerformOtaError({ status: 'failed', message: `could not reach the API at ${url}: ${cause}` });
    }
  }
}

/** Runs the demo client from the command line. Returns the process exit code. */
export async function main(argv: string[] = process.argv.slice(2), env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      type: { type: 'string' },
      url: { type: 'string' },
      version: { type: 'string' },
      size: { type: 'string' },
      md5: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  const target = readDeviceArguments(positionals, env);
  if (typeof target === 'string') {
    console.error(target);
    return 2;
  }
  const { productName, deviceName } = target;
  const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    console.error(`invalid --timeout-ms '${values['timeout-ms']}': expected a whole number of milliseconds greater than 0`);
    return 2;
  }

  const firmware: Partial<FirmwareForm> = { type: values.type, url: values.url, version: values.version, md5: values.md5 };
  if (values.size !== undefined) {
    firmware.size = Number(values.size);
    if (!Number.isSafeInteger(firmware.size) || firmware.size <= 0) {
      console.error(`invalid --size '${values.size}': expected a whole number of bytes greater than 0`);
      return 2;
    }
  }
  for (const key of Object.keys(firmware) as (keyof FirmwareForm)[]) if (firmware[key] === undefined) delete firmware[key];

  const outcome = await performOta({ apiUrl: env.API_URL || undefined, productName, deviceName, firmware, timeoutMs });
  return outcome.status === 'completed' ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`perform-ota failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}

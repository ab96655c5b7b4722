import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { TemporalSettings } from '../config/settings';
import { startOtaDevice } from '../device-sim/samples/ota-device';
import { performOta } from '../device-sim/samples/perform-ota';
import { upgradeWorkflowId, type DeviceRef } from '../protocol';
import { temporalConnectionOptions } from '../temporal/connection-options';
import type { StackParts } from './stack-parts';

const DEMO_DEVICE = { productName: 'demo', deviceName: 'device-1' };

export interface DemoOptions {
  mqttUrl: string;
  apiUrl: string;
  temporal: TemporalSettings;
  /** Base URL of the Temporal Web UI, when the stack started it. */
  uiUrl: string | undefined;
  /** The demo device joins the stack's parts, so it is closed with them. */
  parts: StackParts;
  /** Resolves when a shutdown is requested, which ends the demo early. */
  shutdownRequested: Promise<NodeJS.Signals>;
  /** Prints a line for the user of the start command. */
  print: (line: string) => void;
}

export type DemoOutcome = { status: 'completed' } | { status: 'failed'; reason: string } | { status: 'interrupted'; signal: NodeJS.Signals };

/** Upgrades the demo device as the IotHub demo does, printing the device's and the client's lines. */
export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const { print } = options;
  print(`demo: device ${DEMO_DEVICE.productName}/${DEMO_DEVICE.deviceName} on firmware 1.0 connects, and a client requests firmware 1.1`);
  // A demo stopped mid-upgrade leaves its workflow running in the data folder, and the API would reject
  // this demo's request with 409. The demo device belongs to the stack, so its old upgrade is ended here.
  const connection = await Connection.connect(temporalConnectionOptions(options.temporal));
  try {
    const client = new Client({ connection, namespace: options.temporal.namespace });
    if (await terminateRunningUpgrade(client, DEMO_DEVICE, 'left running by an interrupted demo; a new demo starts')) {
      print('terminated the demo upgrade that an interrupted earlier run left running');
    }
  } finally {
    await connection.close();
  }
  await options.parts.start(
    'the demo device',
    () => startOtaDevice({ ...DEMO_DEVICE, mqttUrl: options.mqttUrl, print: (line) => process.stdout.write(`[device] ${line}\n`) }),
    (device) => device.close(),
  );
  // performOta cannot be cancelled, so after a shutdown request it polls on until the process exits.
  // Its lines are dropped from then on, because its errors would only tell that the API has stopped.
  let interrupted = false;
  const printClient = (write: (text: string) => void) => (line: string) => {
    if (!interrupted) write(`[client] ${line}\n`);
  };
  const outcome = await Promise.race([
    performOta({
      ...DEMO_DEVICE,
      apiUrl: options.apiUrl,
      print: printClient((text) => process.stdout.write(text)),
      printError: printClient((text) => process.stderr.write(text)),
    }),
    options.shutdownRequested.then((signal) => {
      interrupted = true;
      return { status: 'interrupted' as const, signal };
    }),
  ]);
  if (options.uiUrl !== undefined) {
    print(`the upgrade in the Temporal UI: ${options.uiUrl}/namespaces/default/workflows/${encodeURIComponent(upgradeWorkflowId(DEMO_DEVICE))}`);
  }
  if (outcome.status === 'completed' || outcome.status === 'interrupted') return outcome;
  print(`demo upgrade ended as ${outcome.status}`);
  return { status: 'failed', reason: outcome.status };
}

/** Terminates the device's upgrade workflow if it is running, and returns true if it did. */
export async function terminateRunningUpgrade(client: Client, ref: DeviceRef, reason: string): Promise<boolean> {
  const handle = client.workflow.getHandle(upgradeWorkflowId(ref));
  try {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') return false;
    await handle.terminate(reason);
    return true;
  } catch (error) {
    // Not found: no upgrade ever ran, or its run closed between the two calls.
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

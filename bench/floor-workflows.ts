import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineSignal,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { FloorActivities } from './floor-activities';

// The Temporal floor of the benchmark does the engine's Temporal work without MQTT, MongoDB or any engine
// logic. That work is one workflow per device with a window of them at once, an activity and a few
// signals each, and a report to the parent at the end. Its worker bundles this file alone.

/** A simulated device report sent straight to a child workflow by the floor's signal client. */
export interface FloorReport {
  messageId: string;
}

export const floorReportSignal = defineSignal<[FloorReport]>('floorReport');

/** Sent by each child to the parent when it ends. */
export const childFinishedSignal = defineSignal<[{ workflowId: string; outcome: 'succeeded' | 'timed_out' }]>('childFinished');

export interface FloorChildInput {
  parentWorkflowId: string;
  signals: number;
  /** Time without a new signal after which the child gives up, like the engine's stall timeout. */
  stallTimeoutMs: number;
}

export interface FloorParentInput {
  /** Workflow id of child number i is `${childIdPrefix}${name of device i}`, with the simulator's names. */
  childIdPrefix: string;
  count: number;
  window: number;
  signalsPerChild: number;
  stallTimeoutMs: number;
  /** The parent continues as new before its history reaches this many events, as the campaign does. */
  maxRunEvents: number;
  carried?: FloorParentState;
}

interface FloorParentState {
  next: number;
  inFlight: number;
  succeeded: number;
  timedOut: number;
  startedAt: number;
  runs: number;
}

export interface FloorParentResult {
  succeeded: number;
  timedOut: number;
  startedAt: number;
  endedAt: number;
  runs: number;
}

// Children started by one batch of start commands, the batch size of the engine's start activity.
const MAX_START_BATCH = 50;

const { notifyChildStarted } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

/** Device names as device-sim's fleetDeviceName builds them; that module cannot be bundled into workflows. */
function deviceName(index: number): string {
  return `dev-${String(index).padStart(5, '0')}`;
}

/** Starts `count` children with at most `window` running, and ends when every child has reported. */
export async function floorParent(input: FloorParentInput): Promise<FloorParentResult> {
  const state: FloorParentState = input.carried ?? { next: 0, inFlight: 0, succeeded: 0, timedOut: 0, startedAt: Date.now(), runs: 1 };
  setHandler(childFinishedSignal, (report) => {
    state.inFlight -= 1;
    if (report.outcome === 'succeeded') state.succeeded += 1;
    else state.timedOut += 1;
  });

  const parentWorkflowId = workflowInfo().workflowId;
  while (state.succeeded + state.timedOut < input.count) {
    // Checked before every batch, because the window always has room while children finish as fast as
    // they start. A check on a full window only let a 10,000-child run pass Temporal's history limit.
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= input.maxRunEvents) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof floorParent>({ ...input, carried: { ...state, runs: state.runs + 1 } });
    }

    const room = Math.min(input.window - state.inFlight, input.count - state.next, MAX_START_BATCH);
    if (room > 0) {
      const starts = [];
      for (let offset = 0; offset < room; offset += 1) {
        starts.push(
          startChild(floorChild, {
            workflowId: `${input.childIdPrefix}${deviceName(state.next + offset + 1)}`,
            args: [{ parentWorkflowId, signals: input.signalsPerChild, stallTimeoutMs: input.stallTimeoutMs }],
            // Children report by signal to the parent's workflow id, so they outlive a continue-as-new.
            parentClosePolicy: ParentClosePolicy.ABANDON,
          }),
        );
      }
      state.next += room;
      state.inFlight += room;
      await Promise.all(starts);
      continue;
    }

    const finished = state.succeeded + state.timedOut;
    await condition(() => state.succeeded + state.timedOut !== finished);
  }
  return { succeeded: state.succeeded, timedOut: state.timedOut, startedAt: state.startedAt, endedAt: Date.now(), runs: state.runs };
}

/** Runs one trivial activity, waits for its signals, and reports to the parent. */
export async function floorChild(input: FloorChildInput): Promise<void> {
  const seen = new Set<string>();
  setHandler(floorReportSignal, (report) => {
    seen.add(report.messageId);
  });
  await notifyChildStarted({ workflowId: workflowInfo().workflowId });

  let received = -1;
  let outcome: 'succeeded' | 'timed_out' = 'succeeded';
  while (seen.size < input.signals) {
    received = seen.size;
    const progressed = await condition(() => seen.size !== received, input.stallTimeoutMs);
    if (!progressed) {
      outcome = 'timed_out';
      break;
    }
  }
  await getExternalWorkflowHandle(input.parentWorkflowId).signal(childFinishedSignal, { workflowId: workflowInfo().workflowId, outcome });
}

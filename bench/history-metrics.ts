import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { summarizeCounts, summarizeLatencies, type CountSummary, type LatencySummary } from './percentiles';

/** A signal in a workflow history and when the workflow handled it. Times are milliseconds since the epoch. */
export interface HandledSignal {
  signalName: string;
  /** messageId field of the signal's payload, when it has one. */
  messageId: string | undefined;
  /**
   * Time of the WorkflowExecutionSignaled event: when the server accepted the signal. A signal that
   * arrives during a workflow task is written after that task, but keeps the time it arrived.
   */
  signaledAt: number | undefined;
  /**
   * Time of the first WorkflowTaskCompleted event after the signal: by then the worker has run the
   * signal handler and the server has recorded its result. Undefined when the run ended first.
   */
  handledAt: number | undefined;
}

/** Events and signals of one workflow run. */
export interface RunHistory {
  runId: string;
  events: number;
  signals: HandledSignal[];
  /** From WorkflowTaskScheduled to WorkflowTaskStarted of each workflow task: its wait for a worker, in ms. */
  workflowTaskQueueMs: number[];
  /** Workflow tasks that timed out or failed, each of which the server schedules again. */
  workflowTaskTimeouts: number;
  /** Run this one continued from, for following a chain of continue-as-new back to its first run. */
  previousRunId: string | undefined;
}

/** Fetches one run's history (the latest run when `runId` is undefined) and reads its signals. */
export async function readRunHistory(client: Client, workflowId: string, runId?: string): Promise<RunHistory> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const resolvedRunId = runId ?? (await handle.describe()).runId;
  const history = await client.workflow.getHandle(workflowId, resolvedRunId).fetchHistory();
  const events = history.events ?? [];
  const signals: HandledSignal[] = [];
  const pending: HandledSignal[] = [];
  const workflowTaskQueueMs: number[] = [];
  let workflowTaskTimeouts = 0;
  let taskScheduledAt: number | undefined;
  let previousRunId: string | undefined;

  for (const event of events) {
    const started = event.workflowExecutionStartedEventAttributes;
    if (started?.continuedExecutionRunId) previousRunId = started.continuedExecutionRunId;

    const signalled = event.workflowExecutionSignaledEventAttributes;
    if (signalled) {
      const payload = signalled.input?.payloads?.[0];
      const body = payload ? (defaultPayloadConverter.fromPayload(payload) as { messageId?: unknown } | null) : null;
      const messageId = typeof body?.messageId === 'string' ? body.messageId : undefined;
      const signal: HandledSignal = { signalName: signalled.signalName ?? '', messageId, signaledAt: timestampToMs(event.eventTime), handledAt: undefined };
      signals.push(signal);
      pending.push(signal);
      continue;
    }
    if (event.workflowTaskScheduledEventAttributes) taskScheduledAt = timestampToMs(event.eventTime);
    const taskStartedAt = event.workflowTaskStartedEventAttributes ? timestampToMs(event.eventTime) : undefined;
    if (taskStartedAt !== undefined && taskScheduledAt !== undefined) workflowTaskQueueMs.push(taskStartedAt - taskScheduledAt);
    if (event.workflowTaskTimedOutEventAttributes || event.workflowTaskFailedEventAttributes) workflowTaskTimeouts += 1;
    if (event.workflowTaskCompletedEventAttributes && pending.length > 0) {
      const handledAt = timestampToMs(event.eventTime);
      for (const signal of pending.splice(0)) signal.handledAt = handledAt;
    }
  }
  return { runId: resolvedRunId, events: events.length, signals, workflowTaskQueueMs, workflowTaskTimeouts, previousRunId };
}

/** Reads every run of a workflow id, following continue-as-new from the latest back to the first; returns them oldest first. */
export async function readRunChain(client: Client, workflowId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  let runId: string | undefined;
  for (;;) {
    const run = await readRunHistory(client, workflowId, runId);
    runs.push(run);
    if (run.previousRunId === undefined) return runs.reverse();
    runId = run.previousRunId;
  }
}

/** Signal latency and history size over a sample of per-device workflows. */
export interface SampledHistories {
  workflows: number;
  /** Workflows of the sample that could not be read, each with the error. */
  unreadable: string[];
  eventsPerWorkflow: CountSummary;
  signalsPerWorkflow: CountSummary;
  /** From a report leaving its sender to the workflow task that handled its signal, in milliseconds. */
  latencyMs: LatencySummary;
  /** The same for the reports that always go at once: progress 0, 100, errors and status. */
  outcomeLatencyMs: LatencySummary;
  /** First part of latencyMs: from the report leaving its sender until the server accepted the signal. */
  toSignalMs: LatencySummary;
  /** Second part of latencyMs: from the server accepting the signal until the workflow task that handled it. */
  signalToHandledMs: LatencySummary;
  /** Wait of each workflow task of the sampled workflows for a worker to start it. */
  workflowTaskQueueMs: LatencySummary;
  /** The same for the first workflow task of each sampled workflow only, which an eager start skips. */
  firstWorkflowTaskQueueMs: LatencySummary;
  /** Workflow tasks of the sampled workflows that timed out or failed. */
  workflowTaskTimeouts: number;
  /** Reports of the sample that reached no workflow as a signal, by design (coalesced) or lost. */
  reportsWithoutSignal: number;
  /** Signals whose messageId matched no recorded report. */
  signalsWithoutReport: number;
}

/** Send record of one report or signal. */
export interface SentRecord {
  messageId: string;
  sentAt: number;
  /** Progress value, or undefined for a status report or a floor signal. */
  progress: number | undefined;
}

/**
 * Reads the latest run of each sampled workflow, at most `concurrency` at a time, and joins its signals
 * to the sender's records by messageId.
 */
export async function measureSampledHistories(
  client: Client,
  workflowIds: readonly string[],
  sent: readonly SentRecord[],
  concurrency = 8,
): Promise<SampledHistories> {
  const sentById = new Map(sent.map((record) => [record.messageId, record]));
  const matched = new Set<string>();
  const events: number[] = [];
  const signalCounts: number[] = [];
  const latencies: number[] = [];
  const outcomeLatencies: number[] = [];
  const toSignal: number[] = [];
  const signalToHandled: number[] = [];
  const taskQueue: number[] = [];
  const firstTaskQueue: number[] = [];
  let workflowTaskTimeouts = 0;
  const unreadable: string[] = [];
  let signalsWithoutReport = 0;

  let next = 0;
  const readNext = async () => {
    while (next < workflowIds.length) {
      const workflowId = workflowIds[next]!;
      next += 1;
      let run: RunHistory;
      try {
        run = await readRunHistory(client, workflowId);
      } catch (error) {
        unreadable.push(`${workflowId}: ${(error as Error).message}`);
        continue;
      }
      events.push(run.events);
      taskQueue.push(...run.workflowTaskQueueMs);
      if (run.workflowTaskQueueMs.length > 0) firstTaskQueue.push(run.workflowTaskQueueMs[0]!);
      workflowTaskTimeouts += run.workflowTaskTimeouts;
      const reportSignals = run.signals.filter((signal) => signal.messageId !== undefined);
      signalCounts.push(reportSignals.length);
      for (const signal of reportSignals) {
        const record = sentById.get(signal.messageId!);
        if (record === undefined) {
          signalsWithoutReport += 1;
          continue;
        }
        matched.add(record.messageId);
        if (signal.signaledAt !== undefined) toSignal.push(signal.signaledAt - record.sentAt);
        if (signal.handledAt === undefined) continue;
        if (signal.signaledAt !== undefined) signalToHandled.push(signal.handledAt - signal.signaledAt);
        const latency = signal.handledAt - record.sentAt;
        latencies.push(latency);
        if (record.progress === undefined || record.progress <= 0 || record.progress >= 100) outcomeLatencies.push(latency);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, readNext));

  return {
    workflows: workflowIds.length,
    unreadable,
    eventsPerWorkflow: summarizeCounts(events),
    signalsPerWorkflow: summarizeCounts(signalCounts),
    latencyMs: summarizeLatencies(latencies),
    outcomeLatencyMs: summarizeLatencies(outcomeLatencies),
    toSignalMs: summarizeLatencies(toSignal),
    signalToHandledMs: summarizeLatencies(signalToHandled),
    workflowTaskQueueMs: summarizeLatencies(taskQueue),
    firstWorkflowTaskQueueMs: summarizeLatencies(firstTaskQueue),
    workflowTaskTimeouts,
    reportsWithoutSignal: sent.length - matched.size,
    signalsWithoutReport,
  };
}

/** Converts a protobuf Timestamp to milliseconds since the epoch, keeping the fraction of a millisecond. */
function timestampToMs(timestamp: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined): number | undefined {
  if (!timestamp) return undefined;
  const seconds = typeof timestamp.seconds === 'number' ? timestamp.seconds : (timestamp.seconds?.toNumber() ?? 0);
  return seconds * 1000 + (timestamp.nanos ?? 0) / 1e6;
}

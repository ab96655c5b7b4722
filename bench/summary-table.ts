import type { EngineRunResult } from './engine-run';
import type { MqttFloorResult } from './mqtt-floor-run';
import type { LatencySummary } from './percentiles';
import type { RunResults } from './result-lines';
import type { TemporalFloorResult } from './temporal-floor-run';

interface Row {
  label: string;
  value: (size: number) => number | undefined;
}

const ENGINE_PROCESSES = ['worker', 'bridge', 'api', 'temporal', 'ferretdb', 'mosquitto', 'simulator'];
const TEMPORAL_FLOOR_PROCESSES = ['temporal', 'floor-worker', 'signal-client'];
const MQTT_FLOOR_PROCESSES = ['mosquitto', 'simulator', 'subscriber'];

/**
 * Renders the results as a Markdown table with one row per figure and one column per fleet size, and a
 * last column with the growth from the smallest to the largest size that has the figure.
 */
export function renderSummaryTable(results: RunResults): string {
  const rows = summaryRows(results);
  const sizes = results.sizes;
  const withGrowth = sizes.length > 1;
  const header = ['figure', ...sizes.map((size) => `n=${size.toLocaleString('en-US')}`), ...(withGrowth ? [`growth n=${first(sizes)}→${last(sizes)}`] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, index) => (index === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of rows) {
    const values = sizes.map((size) => row.value(size));
    if (values.every((value) => value === undefined)) continue;
    lines.push(`| ${[row.label, ...values.map(formatNumber), ...(withGrowth ? [formatGrowth(values)] : [])].join(' | ')} |`);
  }
  return lines.join('\n');
}

function summaryRows(results: RunResults): Row[] {
  const engine = (size: number) => results.engine.get(size);
  const temporal = (size: number) => results.temporalFloor.get(size);
  const mqtt = (size: number) => results.mqttFloor.get(size);
  const ratio = (numerator: number | undefined, denominator: number | undefined) =>
    numerator === undefined || denominator === undefined || denominator === 0 ? undefined : Math.round((numerator / denominator) * 100) / 100;

  return [
    { label: 'pacing bound, devices/min', value: (size) => engine(size)?.campaign.pacingBoundPerMinute ?? temporal(size)?.pacingBoundPerMinute ?? mqtt(size)?.pacingBoundPerMinute },
    { label: 'engine: devices upgraded/min', value: (size) => engine(size)?.campaign.devicesPerMinute },
    { label: 'Temporal floor: devices/min', value: (size) => temporal(size)?.devicesPerMinute },
    { label: 'MQTT floor: devices/min', value: (size) => mqtt(size)?.devicesPerMinute },
    { label: 'engine / Temporal floor, throughput', value: (size) => ratio(engine(size)?.campaign.devicesPerMinute, temporal(size)?.devicesPerMinute) },
    { label: 'engine / MQTT floor, throughput', value: (size) => ratio(engine(size)?.campaign.devicesPerMinute, mqtt(size)?.devicesPerMinute) },
    { label: 'engine: campaign wall time, s', value: (size) => seconds(engine(size)?.campaign.wallTimeMs) },
    { label: 'Temporal floor: wall time, s', value: (size) => seconds(temporal(size)?.wallTimeMs) },
    { label: 'MQTT floor: wall time, s', value: (size) => seconds(mqtt(size)?.wallTimeMs) },
    { label: 'engine: devices not succeeded', value: (size) => engine(size)?.campaign.notSucceeded },
    { label: 'Temporal floor: children timed out', value: (size) => temporal(size)?.timedOut },
    { label: 'engine: fleet registration, s', value: (size) => seconds(engine(size)?.registrationMs) },
    ...latencyRows('engine: report→signal handled', (size) => engine(size)?.deviceWorkflows.latencyMs),
    ...latencyRows('engine: outcome report→handled', (size) => engine(size)?.deviceWorkflows.outcomeLatencyMs),
    ...latencyRows('engine: report→signal accepted', (size) => engine(size)?.deviceWorkflows.toSignalMs, ['p50', 'p95']),
    ...latencyRows('engine: signal accepted→handled', (size) => engine(size)?.deviceWorkflows.signalToHandledMs, ['p50', 'p95']),
    ...latencyRows('engine: workflow task wait for worker', (size) => engine(size)?.deviceWorkflows.workflowTaskQueueMs, ['p50', 'p95']),
    ...latencyRows('engine: first workflow task wait for worker', (size) => engine(size)?.deviceWorkflows.firstWorkflowTaskQueueMs, ['p50', 'p95']),
    { label: 'engine: workflow task timeouts in sample', value: (size) => engine(size)?.deviceWorkflows.workflowTaskTimeouts },
    ...latencyRows('Temporal floor: send→handled', (size) => temporal(size)?.childWorkflows.latencyMs),
    ...latencyRows('Temporal floor: send→signal accepted', (size) => temporal(size)?.childWorkflows.toSignalMs, ['p50', 'p95']),
    ...latencyRows('Temporal floor: workflow task wait for worker', (size) => temporal(size)?.childWorkflows.workflowTaskQueueMs, ['p50', 'p95']),
    ...latencyRows('Temporal floor: first workflow task wait for worker', (size) => temporal(size)?.childWorkflows.firstWorkflowTaskQueueMs, ['p50', 'p95']),
    { label: 'Temporal floor: workflow task timeouts in sample', value: (size) => temporal(size)?.childWorkflows.workflowTaskTimeouts },
    ...latencyRows('MQTT floor: publish→received', (size) => mqtt(size)?.latencyMs),
    { label: 'engine / Temporal floor, latency p50', value: (size) => ratio(engine(size)?.deviceWorkflows.latencyMs.p50, temporal(size)?.childWorkflows.latencyMs.p50) },
    { label: 'engine / Temporal floor, latency p95', value: (size) => ratio(engine(size)?.deviceWorkflows.latencyMs.p95, temporal(size)?.childWorkflows.latencyMs.p95) },
    { label: 'engine / MQTT floor, latency p50', value: (size) => ratio(engine(size)?.deviceWorkflows.latencyMs.p50, mqtt(size)?.latencyMs.p50) },
    { label: 'engine / MQTT floor, latency p95', value: (size) => ratio(engine(size)?.deviceWorkflows.latencyMs.p95, mqtt(size)?.latencyMs.p95) },
    { label: 'engine: report signals per device workflow', value: (size) => engine(size)?.deviceWorkflows.signalsPerWorkflow.mean },
    { label: 'engine: history events per device workflow', value: (size) => engine(size)?.deviceWorkflows.eventsPerWorkflow.mean },
    { label: 'engine: campaign runs', value: (size) => engine(size)?.campaignHistory.runs },
    { label: 'engine: campaign history events, all runs', value: (size) => engine(size)?.campaignHistory.totalEvents },
    { label: 'engine: campaign events per device', value: (size) => engine(size)?.campaignHistory.eventsPerDevice },
    { label: 'Temporal floor: signals per child', value: (size) => temporal(size)?.signalsPerChild },
    { label: 'Temporal floor: history events per child', value: (size) => temporal(size)?.childWorkflows.eventsPerWorkflow.mean },
    { label: 'Temporal floor: parent events per device', value: (size) => temporal(size)?.parentHistory.eventsPerDevice },
    ...processRows('engine', ENGINE_PROCESSES, engine),
    { label: 'engine: worker KiB per device in flight', value: (size) => engine(size)?.memoryPerDeviceInFlightKiB.worker },
    { label: 'engine: bridge KiB per device in flight', value: (size) => engine(size)?.memoryPerDeviceInFlightKiB.bridge },
    ...processRows('Temporal floor', TEMPORAL_FLOOR_PROCESSES, temporal),
    ...processRows('MQTT floor', MQTT_FLOOR_PROCESSES, mqtt),
  ];
}

function latencyRows(label: string, latency: (size: number) => LatencySummary | undefined, percentiles: readonly ('p50' | 'p95' | 'p99')[] = ['p50', 'p95', 'p99']): Row[] {
  return percentiles.map((percentile) => ({ label: `${label} ${percentile}, ms`, value: (size: number) => latency(size)?.[percentile] }));
}

function processRows(phase: string, names: readonly string[], result: (size: number) => EngineRunResult | TemporalFloorResult | MqttFloorResult | undefined): Row[] {
  return [
    ...names.map((name) => ({ label: `${phase}: CPU s, ${name}`, value: (size: number) => result(size)?.processes[name]?.cpuSeconds })),
    ...names.map((name) => ({ label: `${phase}: peak RSS MiB, ${name}`, value: (size: number) => result(size)?.processes[name]?.peakRssMiB })),
  ];
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms / 100) / 10;
}

function formatNumber(value: number | undefined): string {
  if (value === undefined) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function formatGrowth(values: readonly (number | undefined)[]): string {
  const defined = values.filter((value): value is number => value !== undefined);
  const from = defined[0];
  const to = defined[defined.length - 1];
  if (defined.length < 2 || from === undefined || to === undefined || from === 0) return '–';
  return `×${(to / from).toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
}

function first(sizes: readonly number[]): string {
  return (sizes[0] ?? 0).toLocaleString('en-US');
}

function last(sizes: readonly number[]): string {
  return (sizes[sizes.length - 1] ?? 0).toLocaleString('en-US');
}

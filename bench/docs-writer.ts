import type { ResultLine, RunResults } from './result-lines';
import { renderSummaryTable } from './summary-table';
import { reportsPerDevice, deviceRunMs } from './workload';

/**
 * Renders docs/benchmarks.md: when and where the run was taken, the exact command, how each figure is
 * measured, the summary table, what went wrong, and the raw JSON lines. `note` is the run's own note
 * unless --note replaced it when the page was rewritten from saved results.
 */
export function renderBenchmarksDoc(results: RunResults, lines: readonly ResultLine[], note: string | undefined): string {
  const start = results.start;
  const machine = start?.machine;
  const settings = start?.settings;
  const workload = settings?.workload;
  const load = (value: [number, number, number] | undefined) => (value === undefined ? 'unknown' : value.join(', '));
  const out: string[] = [];

  out.push('# Benchmarks', '');
  out.push(
    'Throughput, latency, history size and resource use of the engine on the real stack, next to two floors',
    'that take the engine out: the Temporal server alone with the same workload, and the broker with the same',
    'simulated fleet alone. `scripts/bench` takes these figures and writes this page with `--write-docs`;',
    '`scripts/bench --help` lists its options.',
    '',
  );

  out.push('## Run', '');
  out.push(`- Date: ${start?.startedAt ?? 'unknown'} to ${results.end?.endedAt ?? 'unknown'}${results.end?.interrupted ? ' (interrupted)' : ''}`);
  if (machine) {
    out.push(`- Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB ?? 'unknown'} GiB of memory, ${machine.kernel}, Node.js ${machine.node}`);
  }
  out.push(`- Load average (1, 5, 15 min) at the start: ${load(start?.loadAverageAtStart)}; at the end: ${load(results.end?.loadAverageAtEnd)}`);
  if (note) out.push(`- Note: ${note}`);
  out.push('', 'Command:', '', '```sh', start?.command ?? 'scripts/bench', '```', '');

  if (workload && settings) {
    out.push('## Workload', '');
    out.push(
      `Each device reports progress ${workload.steps + 1} times, ${workload.stepIntervalMs} ms apart, then its new`,
      `firmware_ver ${workload.installDelayMs} ms after progress 100: ${reportsPerDevice(workload)} reports over ${deviceRunMs(workload)} ms.`,
      `At most ${workload.window} devices upgrade at once: the campaign's maxConcurrent and the floors' window.`,
      'The start rate has no limit to speak of. Each device gets one attempt and a stall timeout of 60 s, so a',
      'device that does not succeed is counted, not retried. The pacing bound is the throughput that this pacing',
      'alone allows, with the window always full and each device taking exactly its report time.',
      `The bridge runs with BRIDGE_CONNECTIONS=${settings.bridgeConnections}; the fleet uses ${describeFleetConnections(settings.fleetConnections)}.`,
      '',
    );
  }

  out.push('## Summary', '', renderSummaryTable(results), '');
  out.push(
    'docs/performance.md reads these figures against the targets and lists the experiments behind each change;',
    'docs/scaling.md turns the costs per device into sizes for larger fleets.',
    '',
  );

  if (results.failures.length > 0) {
    out.push('## Phases that failed', '');
    for (const failure of results.failures) out.push(`- n=${failure.size} ${failure.phase}: ${failure.error}`);
    out.push('');
  }

  const issues = [...results.engine.values()].flatMap((result) =>
    Object.entries(result.logIssues)
      .filter(([, found]) => found.warnings + found.errors + found.otherLines > 0)
      .map(([name, found]) => `- n=${result.size} ${name}: ${found.warnings} warnings, ${found.errors} errors${found.otherLines > 0 ? `, ${found.otherLines} lines that are not JSON` : ''}; ${found.messages.map((entry) => `"${entry.message}" ×${entry.count}`).join(', ')}`),
  );
  if (issues.length > 0) out.push('## Warnings and errors in the engine logs', '', ...issues, '');

  out.push('## How each figure is measured', '');
  out.push(
    '- **Servers**: every phase starts its own servers on 127.0.0.1 in a new temporary folder: the Temporal',
    '  CLI dev server (headless, SQLite), FerretDB on SQLite and Mosquitto 2 without persistence, through the',
    '  launchers in `dev-stack/servers/`. No state carries over from one phase or size to the next.',
    '- **Engine run**: the worker, the bridge and the API run as separate processes from `dist/`, configured by',
    '  environment variables, and the simulated fleet (`bench/fleet-runner.ts`, built on `device-sim/`) runs in',
    '  a process of its own. The fleet connects, each device reports its firmware_ver, and once the registry',
    '  holds every device one campaign over all of them starts through `POST /campaigns`. The wall time runs',
    '  from that request to the end time the campaign workflow records; devices per minute are succeeded devices',
    '  over the wall time.',
    '- **Signal latency**: the simulator records the time of each publish call and the messageId of every report',
    '  of the sampled devices. Each signal in a device workflow\'s history carries that messageId, and the first',
    '  WorkflowTaskCompleted event after it is when the workflow had handled it. The latency is the difference,',
    '  on one machine and so one clock. The bridge signals intermediate progress at most once per',
    '  BRIDGE_PROGRESS_SIGNAL_INTERVAL_MS (2 s by default). The reports it holds back reach no workflow and are',
    '  not in the figure, and the one sent at the end of the interval carries up to that interval of waiting by',
    '  design. The "outcome report" rows count only progress 0, 100 and the status report, which go at once.',
    '  The latency splits at the time of the WorkflowExecutionSignaled event, when the server accepted the',
    '  signal: before it is broker, bridge and the signal call, after it the wait for a workflow task and its',
    '  run on the worker. "Workflow task wait for worker" is WorkflowTaskScheduled to WorkflowTaskStarted of',
    '  every workflow task of the sampled workflows. The "first" rows take only the first task of each, which',
    '  an eager start hands to the worker with the start response. A workflow task timeout is a task that the worker started',
    '  but did not complete within its timeout (10 s by default), or that failed; the server schedules it again.',
    '- **History events**: the full history of each sampled device workflow, and of every run of the campaign',
    '  workflow (following continue-as-new back to the first run).',
    '- **CPU and memory**: CPU seconds are utime + stime from `/proc/<pid>/stat` (every thread of the process, plus',
    '  waited-for children) over the window from the campaign start to its end. Peak RSS is VmHWM from',
    '  `/proc/<pid>/status`, reset at the start of the window through `/proc/<pid>/clear_refs`, so it is the',
    '  peak of the window. Memory per device in flight is the growth of the sampled RSS of worker and bridge',
    '  over the window divided by the most device upgrades running at once, which Temporal\'s visibility store',
    '  counts every second. It is an estimate that garbage collection and the worker\'s workflow cache blur.',
    '- **Temporal floor**: a parent workflow (`bench/floor-workflows.ts`, its own task queue and workflow bundle)',
    '  starts one child per device with the same window, in batches of 50 as the campaign\'s start activity. Each',
    '  child runs one activity, which notifies a signal client process over local HTTP that the child runs. The',
    '  client sends the child its signals straight to Temporal at the device\'s report times, and the child',
    '  reports to the parent by signal once it has them all. With `--floor-signals auto` a child gets as many signals as the engine\'s device',
    '  workflows received at the same size. Latency runs from the client\'s signal call to the handling workflow',
    '  task, as above. The campaign starts its device workflows from an activity through the client rather than',
    '  as children (docs/campaigns.md gives the reason), so the floor pays a parent\'s history events for each',
    '  child start that the engine does not.',
    '- **MQTT floor**: a plain mqtt.js client sends the same `$ota_upgrade` commands with the same window to the',
    '  same fleet process and counts the reports; a device is done when its new firmware_ver arrives. Latency',
    '  runs from the device\'s publish call to the subscriber\'s message event.',
    '',
  );

  out.push('## What came from FerretDB', '');
  out.push(
    'The engine run stores the device registry, campaign targets and outcomes in FerretDB v1.24.2 on SQLite,',
    'while production uses MongoDB. Every engine figure includes that storage. It adds to the registration time',
    'and to the campaign wall time and throughput through target preparation, the firmware_ver reads of the start',
    'activity and of each device workflow, and the outcome writes. The bridge\'s registry writes and the',
    'ferretdb process\'s CPU and memory come from it too.',
    'FerretDB gets slower as collections grow (docs/campaigns.md), so the larger fleets are likely to',
    'understate what MongoDB allows. The Temporal and MQTT floors use no database besides Temporal\'s own SQLite.',
    '',
  );

  out.push('## Raw output', '', '```json', ...lines.map((line) => JSON.stringify(line)), '```', '');
  return out.join('\n');
}

function describeFleetConnections(connections: Record<string, number>): string {
  const parts = Object.entries(connections).map(([size, count]) => `n=${size}: ${count === 0 ? 'one MQTT connection per device' : `${count} shared MQTT connections`}`);
  return parts.join(', ');
}

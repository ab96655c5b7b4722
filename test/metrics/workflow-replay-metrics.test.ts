import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { workflowMetricsInterceptorsPath, WorkerMetrics } from '../../metrics/worker-metrics';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { quietRuntime } from '../support/worker-harness';
import { parseSamples } from './scrape';

// Replays the recorded histories with the metrics interceptors and sinks the worker registers. The
// interceptors must issue no command, or old histories would fail to replay, and the sinks must count
// nothing during replay, or every workflow evicted from the cache would be counted again.

const HISTORIES_DIR = path.join(__dirname, '..', 'replay', 'histories');

describe('workflow metrics on replay', () => {
  it('replays histories and counts nothing', async () => {
    quietRuntime();
    const files = readdirSync(HISTORIES_DIR).filter((file) => file.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(5);
    const histories = files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8'))),
    }));
    const registry = new Registry();
    const metrics = new WorkerMetrics(registry);

    const failures: string[] = [];
    let replayed = 0;
    const options = { workflowsPath: WORKFLOWS_PATH, sinks: metrics.sinks(), interceptors: { workflowModules: [workflowMetricsInterceptorsPath()] } };
    for await (const result of Worker.runReplayHistories(options, histories)) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }

    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
    const counted = parseSamples(await registry.metrics()).filter((sample) => sample.value !== 0);
    expect(counted).toEqual([]);
  });
});

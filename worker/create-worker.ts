import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities';
import { DEFAULT_WORKER_SETTINGS, type WorkerSettings } from '../config/settings';

export interface UpgradeWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  dependencies: ActivityDependencies;
  /** Workflow task slots, pollers and threads; DEFAULT_WORKER_SETTINGS when left out. */
  settings?: WorkerSettings;
  /** Overrides for tuning and tests. */
  tuning?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'shutdownGraceTime'>>;
  /** Sinks and workflow interceptors that feed the worker's metrics. */
  observability?: Pick<WorkerOptions, 'sinks' | 'interceptors'>;
}

/** Path of the module that exports every workflow, resolved next to this file in source and in dist. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** Creates a worker that runs the engine's workflows and activities on one task queue. */
export async function createUpgradeWorker(options: UpgradeWorkerOptions): Promise<Worker> {
  const settings = options.settings ?? DEFAULT_WORKER_SETTINGS;
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(options.dependencies),
    // Lets running activities finish (a publish waits for at most its PUBACK timeout) before exit.
    shutdownGraceTime: '20s',
    // Every device upgrade in flight gets a workflow task every second or two. Too few slots left new
    // upgrades waiting on the task queue while sticky tasks took each free slot, and an eager start
    // needs a free slot at the moment of the start (docs/performance.md).
    maxConcurrentWorkflowTaskExecutions: settings.maxWorkflowTasks,
    maxConcurrentWorkflowTaskPolls: settings.workflowPollers,
    // A second thread runs workflow activations while the first creates new workflows, which costs
    // milliseconds each because the bundle's modules are evaluated for every workflow.
    workflowThreadPoolSize: settings.workflowThreads,
    ...options.observability,
    ...options.tuning,
  });
}

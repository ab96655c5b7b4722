import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities';

export interface UpgradeWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  dependencies: ActivityDependencies;
  /** Overrides for tuning and tests. */
  tuning?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'maxConcurrentWorkflowTaskExecutions' | 'shutdownGraceTime'>>;
  /** Sinks and workflow interceptors that feed the worker's metrics. */
  observability?: Pick<WorkerOptions, 'sinks' | 'interceptors'>;
}

/** Path of the module that exports every workflow, resolved next to this file in source and in dist. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/** Creates a worker that runs the engine's workflows and activities on one task queue. */
export async function createUpgradeWorker(options: UpgradeWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(options.dependencies),
    // Lets running activities finish (a publish waits for at most its PUBACK timeout) before exit.
    shutdownGraceTime: '20s',
    ...options.observability,
    ...options.tuning,
  });
}

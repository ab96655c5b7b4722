import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowMetricsInterceptorsPath } from '../../metrics/worker-metrics';
import { WORKFLOWS_PATH } from '../../worker/create-worker';

// The worker evaluates every module of the workflow bundle again for each workflow it creates. zod and
// the MQTT schemas once took a quarter of the workflow thread's time that way. Validation now runs in
// local activities, and no import may pull zod back into the bundle.
describe('workflow bundle', () => {
  it('contains no zod module', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: [workflowMetricsInterceptorsPath()],
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    expect(code).toContain('upgradeDevice');
    expect(code.match(/node_modules\/zod\/[^\s'"*]*/g) ?? []).toEqual([]);
  }, 120_000);
});

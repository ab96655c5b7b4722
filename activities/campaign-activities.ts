import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { upgradeWorkflowId, type OtaUpgradePayload } from '../protocol';
import { CAMPAIGN_ROUND_MEMO, readClosedUpgradeState, startUpgradeWorkflow, UpgradeAlreadyRunningError } from '../temporal/upgrade-runs';
import type { CampaignView, DeviceFinishedReport, DeviceOutcomeRecord, DeviceStartResult } from '../workflows/campaign-types';
import { OtaCampaign } from '../workflows/search-attributes';
import type { RetryPolicy, UpgradeTimeouts } from '../workflows/upgrade-input';

/** What the campaign activities read and write in MongoDB. */
export interface CampaignStorage {
  /** Lists the campaign's targets into MongoDB, resuming after `resumeAfter` when given; returns their count. */
  prepareTargets(campaignId: string, options: { resumeAfter?: string; onProgress: (lastKey: string) => void }): Promise<{ total: number }>;
  readTargets(campaignId: string, afterDeviceName: string | null, limit: number): Promise<string[]>;
  /** Device names whose recorded outcome is failed or timed out, for a retry round. */
  readRetryTargets(campaignId: string, afterDeviceName: string | null, limit: number): Promise<string[]>;
  recordOutcomes(campaignId: string, outcomes: readonly DeviceOutcomeRecord[], round: number): Promise<void>;
  /** Stores the view unless a newer one, by the workflow time `asOf`, is stored already. */
  saveSummary(campaignId: string, view: CampaignView, asOf: number): Promise<void>;
  /** firmware_ver each named device last reported, undefined for devices without one. */
  findFirmwareVersions(productName: string, deviceNames: readonly string[]): Promise<Map<string, string | undefined>>;
}

export interface StartDeviceUpgradesInput {
  campaignId: string;
  campaignWorkflowId: string;
  round: number;
  productName: string;
  firmware: OtaUpgradePayload;
  upgrade: { timeouts: UpgradeTimeouts; retry: RetryPolicy };
  deviceNames: string[];
}

export interface UpgradeRunRef {
  deviceName: string;
  runId: string;
}

// Workflow starts in flight at once within one start activity; each is one gRPC call to the frontend.
const START_CONCURRENCY = 10;

/** Creates the activities of a campaign from the clients they use. */
export function createCampaignActivities(deps: { storage: CampaignStorage; temporal: Client; taskQueue: string; eagerStart?: boolean }) {
  const { storage, temporal, taskQueue } = deps;
  const eagerStart = deps.eagerStart ?? false;

  /**
   * Starts one device's upgrade, or reports why it is skipped. A start retried after it succeeded finds
   * the run it started by the campaign and round recorded on it, so no device is commanded twice.
   */
  async function startOne(input: StartDeviceUpgradesInput, deviceName: string): Promise<DeviceStartResult> {
    const upgradeInput = {
      productName: input.productName,
      deviceName,
      firmware: input.firmware,
      timeouts: input.upgrade.timeouts,
      retry: input.upgrade.retry,
      // startDeviceUpgrades has just read every device's firmware_ver in one query, so the workflow does
      // not read it again. That saves an activity, its workflow task and a query per device.
      skipIfInstalled: false,
      campaignWorkflowId: input.campaignWorkflowId,
    };
    try {
      const started = await startUpgradeWorkflow(temporal, taskQueue, upgradeInput, { campaignRound: input.round, eagerStart });
      return { deviceName, status: 'started', runId: started.runId };
    } catch (error) {
      if (!(error instanceof UpgradeAlreadyRunningError)) throw error;
      return (await findOwnRun(input, deviceName)) ?? { deviceName, status: 'skipped', reason: 'upgrade_running' };
    }
  }

  /** Returns the device's latest run when this campaign round started it, or the skip for a foreign running one. */
  async function findOwnRun(input: StartDeviceUpgradesInput, deviceName: string): Promise<DeviceStartResult | undefined> {
    let description;
    try {
      description = await temporal.workflow.getHandle(upgradeWorkflowId({ productName: input.productName, deviceName })).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
    const campaign = description.typedSearchAttributes.get(OtaCampaign);
    const round = description.memo?.[CAMPAIGN_ROUND_MEMO];
    if (campaign === input.campaignWorkflowId && round === input.round) return { deviceName, status: 'started', runId: description.runId };
    if (description.status.name === 'RUNNING') return { deviceName, status: 'skipped', reason: 'upgrade_running' };
    return undefined;
  }

  return {
    async prepareCampaignTargets(input: { campaignId: string }): Promise<{ total: number }> {
      const context = Context.current();
      const resumeAfter = context.info.heartbeatDetails as string | undefined;
      const result = await storage.prepareTargets(input.campaignId, { resumeAfter, onProgress: (lastKey) => context.heartbeat(lastKey) });
      log.info('prepared campaign targets', { campaignId: input.campaignId, total: result.total, resumed: resumeAfter !== undefined });
      return result;
    },

    async fetchCampaignTargets(input: { campaignId: string; round: number; afterDeviceName: string | null; limit: number }): Promise<string[]> {
      return input.round === 1
        ? storage.readTargets(input.campaignId, input.afterDeviceName, input.limit)
        : storage.readRetryTargets(input.campaignId, input.afterDeviceName, input.limit);
    },

    /** Starts the upgrades of a batch of devices, skipping those that already run the target version. */
    async startDeviceUpgrades(input: StartDeviceUpgradesInput): Promise<DeviceStartResult[]> {
      // On a retry some of the batch may have started already, so each device is looked up first.
      const retried = Context.current().info.attempt > 1;
      const versions = await storage.findFirmwareVersions(input.productName, input.deviceNames);
      const results = await mapConcurrently(input.deviceNames, START_CONCURRENCY, async (deviceName): Promise<DeviceStartResult> => {
        // A run that an earlier attempt started may have installed the target already. That run reports its
        // outcome to the campaign, so the device must not count as skipped as well.
        if (retried) {
          const existing = await findOwnRun(input, deviceName);
          if (existing) return existing;
        }
        if (versions.get(deviceName) === input.firmware.version) return { deviceName, status: 'skipped', reason: 'already_installed' };
        return startOne(input, deviceName);
      });
      const started = results.filter((result) => result.status === 'started').length;
      log.info('started device upgrades', { campaignId: input.campaignId, requested: input.deviceNames.length, started, skipped: results.length - started });
      return results;
    },

    async recordCampaignProgress(input: { campaignId: string; round: number; outcomes: DeviceOutcomeRecord[]; view: CampaignView; asOf: number }): Promise<void> {
      if (input.outcomes.length > 0) await storage.recordOutcomes(input.campaignId, input.outcomes, input.round);
      await storage.saveSummary(input.campaignId, input.view, input.asOf);
    },

    /** Requests cancellation of device upgrades; runs that have ended already are left alone. */
    async cancelDeviceUpgrades(input: { productName: string; runs: UpgradeRunRef[] }): Promise<void> {
      await mapConcurrently(input.runs, START_CONCURRENCY, async (run) => {
        try {
          await temporal.workflow.getHandle(upgradeWorkflowId({ productName: input.productName, deviceName: run.deviceName }), run.runId).cancel();
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
      });
    },

    /**
     * Finds runs that ended without reporting to the campaign, for example because an operator
     * terminated them, and returns the report each would have sent. Runs still open are left out.
     */
    async reconcileDeviceUpgrades(input: { productName: string; runs: UpgradeRunRef[] }): Promise<DeviceFinishedReport[]> {
      const reports = await mapConcurrently(input.runs, START_CONCURRENCY, async (run): Promise<DeviceFinishedReport | undefined> => {
        const workflowId = upgradeWorkflowId({ productName: input.productName, deviceName: run.deviceName });
        let status;
        try {
          status = (await temporal.workflow.getHandle(workflowId, run.runId).describe()).status.name;
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          // History past the namespace's retention is gone; the run certainly ended long ago.
          return { deviceName: run.deviceName, runId: run.runId, phase: 'failed', reason: 'run_not_found', attempts: 0, lastProgress: null };
        }
        if (status === 'RUNNING') return undefined;
        const state = await readClosedUpgradeState(temporal, workflowId, run.runId, status);
        if (state && (state.phase === 'succeeded' || state.phase === 'failed' || state.phase === 'skipped' || state.phase === 'cancelled')) {
          return { deviceName: run.deviceName, runId: run.runId, phase: state.phase, reason: state.failureReason ?? state.skipReason, attempts: state.attempt, lastProgress: state.progress };
        }
        const phase = status === 'TERMINATED' || status === 'CANCELLED' ? 'cancelled' : 'failed';
        return { deviceName: run.deviceName, runId: run.runId, phase, reason: `workflow_${status.toLowerCase()}`, attempts: 0, lastProgress: null };
      });
      return reports.filter((report): report is DeviceFinishedReport => report !== undefined);
    },
  };
}

/** Maps items with at most `concurrency` calls in flight, keeping the order of the input. */
async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

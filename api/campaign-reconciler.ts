import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../observability/logger';
import type { CampaignDocument } from '../storage/campaign-store';
import type { MongoCampaignStorage } from '../storage/campaign-storage';
import type { CampaignView } from '../workflows/campaign-types';
import type { CampaignService } from './campaign-service';
import { withTemporalDeadline } from './temporal-deadline';

export interface ReconcileReport {
  checked: number;
  /** Campaigns stored by a request that failed before it started their workflow. */
  started: string[];
  /** Campaigns whose workflow ended without storing its final state, for example when terminated. */
  summariesFixed: string[];
}

const PAGE_SIZE = 100;

/**
 * Brings the stored campaigns in line with their workflows after a crash: starts the workflow of a
 * campaign that was stored but never started, and stores the final state of a campaign whose workflow
 * ended without writing it. Every step is idempotent, so several API instances may run it at once.
 */
export async function reconcileCampaigns(deps: {
  client: Client;
  storage: MongoCampaignStorage;
  campaigns: CampaignService;
  logger: Logger;
}): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, started: [], summariesFixed: [] };
  let afterId: string | null = null;
  for (;;) {
    const page = await deps.storage.campaigns.listUnfinished(afterId, PAGE_SIZE);
    for (const document of page) {
      report.checked += 1;
      try {
        await reconcileOne(document, deps, report);
      } catch (error) {
        // One campaign that cannot be checked now must not stop the others; the next start tries again.
        deps.logger.error({ err: error, campaignId: document._id, workflowId: document.workflow_id }, 'failed to reconcile campaign');
      }
    }
    if (page.length < PAGE_SIZE) break;
    afterId = page[page.length - 1]!._id;
  }
  deps.logger.info(report, 'reconciled campaigns with their workflows');
  return report;
}

async function reconcileOne(
  document: CampaignDocument,
  deps: { client: Client; storage: MongoCampaignStorage; campaigns: CampaignService; logger: Logger },
  report: ReconcileReport,
): Promise<void> {
  const ids = { campaignId: document._id, workflowId: document.workflow_id };
  const description = await withTemporalDeadline(deps.client, () => deps.client.workflow.getHandle(document.workflow_id).describe()).catch(
    (error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    },
  );

  if (!description) {
    await deps.campaigns.startFirstRound(document);
    report.started.push(document._id);
    deps.logger.warn(ids, 'started the workflow of a campaign that was stored but never started');
    return;
  }
  if (description.status.name === 'RUNNING') return;
  // An aborted campaign whose workflow stored its end is final already.
  if (document.summary?.view?.endedAt != null) return;

  let view: CampaignView | null = null;
  if (description.status.name === 'COMPLETED') {
    view = (await withTemporalDeadline(deps.client, () => deps.client.workflow.getHandle(document.workflow_id, description.runId).result())) as CampaignView;
  } else {
    // Terminated, timed out or failed: the workflow could not record how it ended, so the stored view
    // is closed as cancelled with the reason.
    const previous = document.summary?.view ?? null;
    if (previous) {
      view = {
        ...previous,
        state: 'cancelled',
        abortReason: `the campaign workflow ended as ${description.status.name} without storing its final state`,
        endedAt: description.closeTime?.getTime() ?? Date.now(),
      };
    }
  }
  if (!view) return;
  await deps.storage.saveSummary(document._id, view, description.closeTime?.getTime() ?? Date.now());
  report.summariesFixed.push(document._id);
  deps.logger.warn({ ...ids, state: view.state, workflowStatus: description.status.name }, 'stored the final state of a campaign whose workflow ended without it');
}

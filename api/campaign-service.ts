import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { UpgradeDefaults } from '../config/settings';
import type { CampaignOutcomeRecord } from '../storage/campaign-outcomes';
import type { CampaignDocument, CampaignListCursor } from '../storage/campaign-store';
import type { MongoCampaignStorage } from '../storage/campaign-storage';
import {
  campaignStateQuery,
  cancelCampaignUpdate,
  pauseCampaignUpdate,
  resumeCampaignUpdate,
  upgradeCampaign,
} from '../workflows/campaign';
import { grpcStatusCode } from '../temporal/grpc-errors';
import { queryWorkflow } from '../temporal/query-workflow';
import { campaignWorkflowId, DEFAULT_CAMPAIGN_TUNING, type CampaignInput } from '../workflows/campaign-input';
import type { CampaignView, DeviceOutcome } from '../workflows/campaign-types';
import { OtaCampaign, OtaProduct, OtaState, OtaTargetVersion } from '../workflows/search-attributes';
import type { CreateCampaignRequest } from './campaign-request';
import { TEMPORAL_CALL_TIMEOUT_MS, withTemporalDeadline } from './temporal-deadline';
import { policyProblems, resolveUpgradePolicy } from './upgrade-options';
import type { FieldProblem } from './validation';

/** gRPC status of a call that ran past its deadline. */
const GRPC_DEADLINE_EXCEEDED = 4;

/**
 * Raised when a pause, resume or cancel was not confirmed in time, usually because no worker runs the
 * campaign's workflow. Temporal keeps such an update in memory only, so a worker may still receive it
 * later, or it may be lost.
 */
export class CampaignControlTimeoutError extends Error {
  constructor(
    readonly campaignId: string,
    readonly action: CampaignAction,
  ) {
    super(
      `campaign ${campaignId} did not confirm ${action} within ${TEMPORAL_CALL_TIMEOUT_MS / 1000} s, which happens when no worker is running. ` +
        `The ${action} may still take effect once a worker runs: check GET /campaigns/${campaignId} before sending it again`,
    );
    this.name = 'CampaignControlTimeoutError';
  }
}

/** Raised when a campaign does not exist. */
export class CampaignNotFoundError extends Error {
  constructor(readonly campaignId: string) {
    super(`campaign ${campaignId} not found`);
    this.name = 'CampaignNotFoundError';
  }
}

/** Raised when the campaign's state does not allow the requested action. */
export class CampaignConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CampaignConflictError';
  }
}

/** Raised for a list cursor that this API did not issue. */
export class InvalidCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/** Raised for a campaign request whose options, combined with the defaults, the workflow would reject. */
export class InvalidCampaignRequestError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '));
    this.name = 'InvalidCampaignRequestError';
  }
}

export type CampaignAction = 'pause' | 'resume' | 'cancel';

const UPDATES = { pause: pauseCampaignUpdate, resume: resumeCampaignUpdate, cancel: cancelCampaignUpdate } as const;

// A query needs a running worker; without one the API falls back to the stored summary after this long.
const QUERY_TIMEOUT_MS = 5_000;

/** A campaign as the API returns it: its definition and its latest view. */
export interface CampaignResponse {
  id: string;
  workflowId: string;
  productName: string;
  firmware: CampaignDocument['firmware'];
  target: CampaignDocument['target'];
  /** Rollout rules as received, with their defaults applied. */
  rollout: CampaignDocument['rollout'];
  /** Timeouts and retry policy of each device's upgrade, resolved from the request and the defaults. */
  upgrade: CampaignDocument['upgrade'];
  createdAt: Date;
  /** Latest view from the workflow, or from the stored summary when the workflow cannot answer. */
  view: CampaignView | null;
  /**
   * Source of the view: `workflow` (its result or query), `stored` (the summary the workflow last
   * wrote, which may be behind while the campaign runs), or null without a view.
   */
  viewSource: 'workflow' | 'stored' | null;
  /** Temporal status of the campaign's latest run. */
  workflowStatus: string | null;
}

/** Starts, controls and reads campaigns. */
export class CampaignService {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly storage: MongoCampaignStorage,
    private readonly defaults: UpgradeDefaults,
  ) {}

  /** Creates a campaign and starts its workflow; the same id again returns the existing campaign. */
  create(request: CreateCampaignRequest, now: Date): Promise<{ created: boolean; campaign: CampaignResponse }> {
    return withTemporalDeadline(this.client, () => this.createCampaign(request, now));
  }

  get(id: string): Promise<CampaignResponse> {
    return withTemporalDeadline(this.client, () => this.read(id));
  }

  /** Pauses, resumes or cancels a running campaign and returns its new view. */
  control(id: string, action: CampaignAction): Promise<CampaignView> {
    return withTemporalDeadline(this.client, () => this.applyControl(id, action));
  }

  /** Starts another round of the campaign over its failed and timed-out devices, under the same rules. */
  retryFailed(id: string): Promise<CampaignView> {
    return withTemporalDeadline(this.client, () => this.startRetryRound(id));
  }

  private async createCampaign(request: CreateCampaignRequest, now: Date): Promise<{ created: boolean; campaign: CampaignResponse }> {
    const id = request.id ?? randomUUID();
    const workflowId = campaignWorkflowId(id);
    const upgrade = resolveUpgradePolicy(request.upgrade, this.defaults);
    const problems = policyProblems(upgrade, 'upgrade');
    if (problems.length > 0) throw new InvalidCampaignRequestError(problems);
    const startAt = request.startAt === undefined ? null : new Date(request.startAt);
    const stored = await this.storage.campaigns.create({
      _id: id,
      product_name: request.productName,
      target: request.target,
      firmware: request.firmware,
      rollout: request.rollout,
      upgrade,
      tuning: { ...DEFAULT_CAMPAIGN_TUNING, ...request.tuning },
      start_at: startAt,
      created_at: now,
      workflow_id: workflowId,
      summary: null,
    });

    // A retried request may find the campaign stored but its workflow not yet started, so start it then.
    if (stored.created || !(await this.workflowExists(workflowId))) await this.startWorkflow(firstRoundInput(stored.campaign));
    return { created: stored.created, campaign: await this.read(id) };
  }

  private async read(id: string): Promise<CampaignResponse> {
    const document = await this.storage.campaigns.get(id);
    if (!document) throw new CampaignNotFoundError(id);
    const handle = this.client.workflow.getHandle(document.workflow_id);
    let description: WorkflowExecutionDescription | undefined;
    try {
      description = await handle.describe();
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    const stored = viewFromSummary(document);
    // A terminated or timed-out run could not record its end. The stored view, which start-up
    // reconciliation closes, is more accurate than a query that replays its last running state.
    const closedWithStoredView = description !== undefined && description.status.name !== 'RUNNING' && stored !== null;
    let view: CampaignView | null = null;
    if (description?.status.name === 'COMPLETED') {
      view = (await this.client.workflow.getHandle(document.workflow_id, description.runId).result()) as CampaignView;
    } else if (description && !closedWithStoredView) {
      view = await queryWorkflow(this.client, handle, campaignStateQuery, QUERY_TIMEOUT_MS).catch(() => null);
    }
    let viewSource: CampaignResponse['viewSource'] = null;
    if (view !== null) viewSource = 'workflow';
    else if (stored !== null) viewSource = 'stored';
    return {
      id: document._id,
      workflowId: document.workflow_id,
      productName: document.product_name,
      firmware: document.firmware,
      target: document.target,
      rollout: document.rollout,
      upgrade: document.upgrade,
      createdAt: document.created_at,
      view: view ?? stored,
      viewSource,
      workflowStatus: description?.status.name ?? null,
    };
  }

  /** Lists campaigns newest first from their stored summaries, so no workflow is queried. */
  async list(limit: number, cursor: string | undefined): Promise<{ campaigns: CampaignResponse[]; next: string | null }> {
    const page = await this.storage.campaigns.list({ limit, before: cursor === undefined ? undefined : decodeCursor(cursor) });
    return {
      campaigns: page.campaigns.map((document) => ({
        id: document._id,
        workflowId: document.workflow_id,
        productName: document.product_name,
        firmware: document.firmware,
        target: document.target,
        rollout: document.rollout,
        upgrade: document.upgrade,
        createdAt: document.created_at,
        view: viewFromSummary(document),
        viewSource: document.summary === null ? null : 'stored',
        workflowStatus: null,
      })),
      next: page.next === null ? null : encodeCursor(page.next),
    };
  }

  private async applyControl(id: string, action: CampaignAction): Promise<CampaignView> {
    const document = await this.storage.campaigns.get(id);
    if (!document) throw new CampaignNotFoundError(id);
    try {
      return await this.client.workflow.getHandle(document.workflow_id).executeUpdate(UPDATES[action]);
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new CampaignConflictError(error.cause?.message ?? error.message);
      if (error instanceof WorkflowNotFoundError) throw new CampaignConflictError(`cannot ${action} campaign ${id}: it has ended`);
      // The client reports a timed-out update as this error. Its cause had gRPC status CANCELLED in one
      // test run, so the error type is checked as well as a DEADLINE_EXCEEDED status.
      if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || grpcStatusCode(error) === GRPC_DEADLINE_EXCEEDED) {
        throw new CampaignControlTimeoutError(id, action);
      }
      throw error;
    }
  }

  private async startRetryRound(id: string): Promise<CampaignView> {
    const document = await this.storage.campaigns.get(id);
    if (!document) throw new CampaignNotFoundError(id);
    const handle = this.client.workflow.getHandle(document.workflow_id);
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') {
      throw new CampaignConflictError(`cannot retry failed devices of campaign ${id} while it runs; wait until it ends or cancel it`);
    }
    if (description.status.name !== 'COMPLETED') {
      throw new CampaignConflictError(`cannot retry failed devices of campaign ${id}: its workflow ended as ${description.status.name}`);
    }
    const last = (await this.client.workflow.getHandle(document.workflow_id, description.runId).result()) as CampaignView;
    const retryable = last.counts.failed + last.counts.timedOut;
    if (retryable === 0) throw new CampaignConflictError(`campaign ${id} has no failed or timed-out devices to retry`);

    const input: CampaignInput = {
      campaignId: id,
      productName: document.product_name,
      firmware: document.firmware,
      rollout: document.rollout as CampaignInput['rollout'],
      upgrade: document.upgrade as CampaignInput['upgrade'],
      startAt: null,
      tuning: document.tuning,
      round: last.round + 1,
      baseCounts: last.counts,
    };
    try {
      await this.startWorkflow(input);
    } catch (error) {
      // Two retry requests at once: the second finds the round the first started.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      throw new CampaignConflictError(`a retry round of campaign ${id} is already running`);
    }
    return (await this.read(id)).view!;
  }

  /** Lists the recorded outcomes of a campaign's devices, optionally of one outcome only. */
  async devices(id: string, options: { outcome?: DeviceOutcome; after?: string; limit: number }): Promise<{ devices: CampaignOutcomeRecord[]; next: string | null }> {
    const document = await this.storage.campaigns.get(id);
    if (!document) throw new CampaignNotFoundError(id);
    const devices = await this.storage.outcomes.list(id, { outcome: options.outcome, afterDeviceName: options.after, limit: options.limit });
    const last = devices.at(-1);
    return { devices, next: devices.length === options.limit && last ? last.deviceName : null };
  }

  /** Starts the first round of a stored campaign whose workflow was never started. */
  startFirstRound(document: CampaignDocument): Promise<void> {
    return withTemporalDeadline(this.client, () => this.startWorkflow(firstRoundInput(document)));
  }

  private async startWorkflow(input: CampaignInput): Promise<void> {
    const workflowId = campaignWorkflowId(input.campaignId);
    await this.client.workflow.start(upgradeCampaign, {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: OtaProduct, value: input.productName },
        { key: OtaTargetVersion, value: input.firmware.version },
        { key: OtaCampaign, value: workflowId },
        { key: OtaState, value: input.startAt !== null && input.startAt > Date.now() ? 'scheduled' : 'running' },
      ],
      staticSummary:
        `Campaign ${input.campaignId}: upgrade ${input.productName} to ${input.firmware.type} ${input.firmware.version}` +
        (input.round > 1 ? `, retry round ${input.round}` : ''),
      staticDetails:
        `at most ${input.rollout.maxConcurrent} devices at once and ${input.rollout.maxStartsPerMinute} starts per minute` +
        (input.rollout.abort ? `; abort at ${input.rollout.abort.failurePercent}% failures after ${input.rollout.abort.minFinished} devices` : ''),
    });
  }

  private async workflowExists(workflowId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }
}

/** Input of a campaign's first round, from its stored definition. */
function firstRoundInput(document: CampaignDocument): CampaignInput {
  return {
    campaignId: document._id,
    productName: document.product_name,
    firmware: document.firmware,
    rollout: document.rollout as CampaignInput['rollout'],
    upgrade: document.upgrade as CampaignInput['upgrade'],
    startAt: document.start_at?.getTime() ?? null,
    tuning: document.tuning,
    round: 1,
  };
}

/** The view the workflow stored last, for listings and when no worker answers a query. */
function viewFromSummary(document: CampaignDocument): CampaignView | null {
  return document.summary?.view ?? null;
}

function encodeCursor(cursor: CampaignListCursor): string {
  return Buffer.from(JSON.stringify({ c: cursor.createdAt.toISOString(), i: cursor.id })).toString('base64url');
}

function decodeCursor(text: string): CampaignListCursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown };
    if (typeof parsed.c === 'string' && typeof parsed.i === 'string' && !Number.isNaN(Date.parse(parsed.c))) {
      return { createdAt: new Date(parsed.c), id: parsed.i };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new InvalidCursorError('invalid cursor: pass the `next` value of the previous page unchanged');
}

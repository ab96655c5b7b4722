import type { OtaUpgradePayload } from '../protocol';
import type { CampaignTargetSpec } from '../storage/campaign-store';
import type { CampaignView, DeviceOutcome } from '../workflows/campaign-types';
import type { UpgradeState } from '../workflows/upgrade-tracker';

// Response bodies of the HTTP API as they arrive over JSON: dates are ISO 8601 strings there.

/** `GET /campaigns/{id}`, `POST /campaigns` and each item of `GET /campaigns`. */
export interface CampaignJson {
  id: string;
  workflowId: string;
  productName: string;
  firmware: OtaUpgradePayload;
  target: CampaignTargetSpec;
  createdAt: string;
  /** Null until the workflow stored its first summary while no worker responds to the state query. */
  view: CampaignView | null;
  /** Source of the view: the workflow, or the summary it last stored; left out by older API versions. */
  viewSource?: 'workflow' | 'stored' | null;
  /** Temporal status of the campaign's latest run; always null in listings, which read no workflow. */
  workflowStatus: string | null;
}

export interface CampaignListJson {
  campaigns: CampaignJson[];
  next: string | null;
}

/** One item of `GET /campaigns/{id}/devices`. */
export interface DeviceOutcomeJson {
  deviceName: string;
  outcome: DeviceOutcome;
  reason: string | null;
  attempts: number;
  lastProgress: number | null;
  runId: string | null;
  /** Milliseconds since the epoch. */
  finishedAt: number;
  round: number;
}

export interface DeviceOutcomeListJson {
  devices: DeviceOutcomeJson[];
  next: string | null;
}

/** `POST /ota/{product}/{device}`. */
export interface UpgradeStartedJson {
  workflowId: string;
  runId: string;
}

/** `GET /ota/{product}/{device}`: the device's latest progress report and its latest upgrade. */
export interface DeviceUpgradeJson {
  version: string | null;
  type: string | null;
  progress: number | null;
  desc: string | null;
  upgrade: {
    workflowId: string;
    runId: string;
    status: string;
    state: UpgradeState | null;
    failure: string | null;
  } | null;
}

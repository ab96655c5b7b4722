import type { CampaignTargetSpec } from '../storage/campaign-store';
import type { CampaignView } from '../workflows/campaign-types';
import type { CampaignJson, DeviceOutcomeJson } from './api-types';
import { formatCount, formatDuration, formatFields, formatOutcomeCounts, formatPercent, formatTable, formatTime, NONE } from './format';
import { renderBar } from './progress-bar';

/** Describes a campaign's target list, such as `all devices` or `3 named devices`. */
export function formatTarget(target: CampaignTargetSpec): string {
  switch (target.kind) {
    case 'all':
      return 'all devices of the product';
    case 'devices':
      return `${target.deviceNames.length} named device${target.deviceNames.length === 1 ? '' : 's'}`;
    case 'filter':
      return `devices where ${target.where.map((condition) => `${condition.field} ${condition.op} ${JSON.stringify(condition.value)}`).join(' and ')}`;
  }
}

/** Formats a campaign for `ota campaign show`. */
export function formatCampaignDetails(campaign: CampaignJson): string {
  const { view, firmware } = campaign;
  const fields: [string, string][] = [
    ['product', campaign.productName],
    ['firmware', `${firmware.type} ${firmware.version} from ${firmware.url} (${firmware.size} bytes, md5 ${firmware.md5})`],
    ['target', formatTarget(campaign.target)],
    ['workflow', `${campaign.workflowId} (${campaign.workflowStatus ?? 'not found'})`],
    ['created', formatTime(campaign.createdAt)],
  ];
  if (view === null) {
    fields.push(['state', 'unknown: the campaign has not reported its state yet and no worker answered the query']);
    return `campaign ${campaign.id}\n${formatFields(fields)}`;
  }

  fields.push(['state', `${view.state}${view.round > 1 ? ` (retry round ${view.round})` : ''}`]);
  if (campaign.viewSource === 'stored' && campaign.workflowStatus === 'RUNNING') {
    fields.push(['view', 'stored summary: no worker answered the state query, so the figures below may be behind']);
  }
  fields.push(
    ['progress', `${renderBar(view.percentDone, 30)} ${formatPercent(view.percentDone)} done`],
    ['targets', formatTargetCount(view.counts.total, campaign.productName)],
    ['outcomes', formatOutcomeCounts(view.counts)],
    ['in flight', String(view.inFlight)],
    ['not started', formatCount(view.notStarted)],
    ['first wave', formatFirstWave(view.firstWave)],
    ['abort reason', view.abortReason ?? NONE],
    ['starts at', formatTime(view.startAt)],
    ['started', formatTime(view.startedAt)],
    ['ended', view.endedAt === null ? NONE : `${formatTime(view.endedAt)}${view.startedAt === null ? '' : ` (took ${formatDuration(view.endedAt - view.startedAt)})`}`],
  );
  return `campaign ${campaign.id}\n${formatFields(fields)}`;
}

function formatTargetCount(total: number | null, productName: string): string {
  if (total === null) return 'not known yet: the target list is being prepared';
  // A campaign without targets completes at once, which a typo in the product name also causes.
  if (total === 0) return `0: no registered device of product ${productName} matched the target`;
  return String(total);
}

function formatFirstWave(wave: CampaignView['firstWave']): string {
  if (wave === null) return 'none';
  return `${wave.state}: ${wave.size} devices, ${wave.started} started, ${wave.finished} finished, ${wave.succeeded} succeeded`;
}

/** Formats the table of `ota campaign list`. */
export function formatCampaignTable(campaigns: readonly CampaignJson[]): string {
  const rows = campaigns.map((campaign) => {
    const view = campaign.view;
    const counts = view?.counts;
    return [
      campaign.id,
      campaign.productName,
      campaign.firmware.version,
      view?.state ?? 'unknown',
      formatPercent(view?.percentDone),
      formatCount(counts?.total),
      formatCount(counts?.succeeded),
      formatCount(counts?.failed),
      formatCount(counts?.timedOut),
      formatCount(counts?.skipped),
      formatCount(counts?.cancelled),
      formatCount(view?.inFlight),
      formatTime(campaign.createdAt),
    ];
  });
  const right = 'right' as const;
  return formatTable(
    [
      { header: 'ID' },
      { header: 'PRODUCT' },
      { header: 'VERSION' },
      { header: 'STATE' },
      { header: 'DONE', align: right },
      { header: 'TOTAL', align: right },
      { header: 'SUCCEEDED', align: right },
      { header: 'FAILED', align: right },
      { header: 'TIMED OUT', align: right },
      { header: 'SKIPPED', align: right },
      { header: 'CANCELLED', align: right },
      { header: 'IN FLIGHT', align: right },
      { header: 'CREATED' },
    ],
    rows,
  );
}

/** Formats the table of `ota campaign devices`. */
export function formatDeviceTable(devices: readonly DeviceOutcomeJson[]): string {
  const rows = devices.map((device) => [
    device.deviceName,
    device.outcome,
    device.reason ?? NONE,
    String(device.attempts),
    device.lastProgress === null ? NONE : String(device.lastProgress),
    String(device.round),
    formatTime(device.finishedAt),
  ]);
  return formatTable(
    [
      { header: 'DEVICE' },
      { header: 'OUTCOME' },
      { header: 'REASON' },
      { header: 'ATTEMPTS', align: 'right' },
      { header: 'LAST PROGRESS', align: 'right' },
      { header: 'ROUND', align: 'right' },
      { header: 'FINISHED' },
    ],
    rows,
  );
}

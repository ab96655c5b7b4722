import type { CampaignView } from '../workflows/campaign-types';
import { expectKeys } from './api-client';
import type { CampaignJson, CampaignListJson, DeviceOutcomeListJson } from './api-types';
import type { Command } from './args';
import { formatCampaignDetails, formatCampaignTable, formatDeviceTable } from './campaign-format';
import { loadCampaignFile } from './campaign-file';
import { watchCampaign } from './campaign-watch';
import { ExitCode } from './cli-io';
import { campaignPath, printJson, queryString, type CommandContext } from './command-context';
import { formatOutcomeCounts, formatPercent } from './format';

type CampaignCommand = Extract<Command, { kind: `campaign-${string}` }>;

/** Runs one `ota campaign` command and returns the exit code; API failures are thrown as CliError. */
export async function runCampaignCommand(command: CampaignCommand, context: CommandContext): Promise<ExitCode> {
  switch (command.kind) {
    case 'campaign-start':
      return startCampaign(command.file, context);
    case 'campaign-list':
      return listCampaigns(command, context);
    case 'campaign-show':
      return showCampaign(command.id, context);
    case 'campaign-control':
      return controlCampaign(command.action, command.id, context);
    case 'campaign-devices':
      return listDevices(command, context);
    case 'campaign-watch':
      return watchCampaign(command.id, command.intervalMs, context);
  }
}

async function startCampaign(file: string, context: CommandContext): Promise<ExitCode> {
  const campaignFile = await loadCampaignFile(file, context.io.cwd);
  const { status, body } = await context.api.post<CampaignJson>('/campaigns', campaignFile.body);
  expectKeys(context.api, 'POST /campaigns', body, ['id', 'view']);
  if (context.json) {
    printJson(context, body);
    return ExitCode.OK;
  }

  const state = body.view?.state ?? 'state not reported yet';
  const out = context.io.stdout;
  // The API returns 201 for a new campaign and 200 with the stored one for an id it already has.
  if (status === 201) {
    out.write(`created campaign ${body.id} (${state})\n`);
  } else {
    out.write(`campaign ${body.id} already exists (${state}); the stored campaign was kept and the file's settings were not applied\n`);
  }
  out.write(`follow it with: ota campaign watch ${body.id}\n`);
  return ExitCode.OK;
}

async function listCampaigns(command: Extract<Command, { kind: 'campaign-list' }>, context: CommandContext): Promise<ExitCode> {
  const { body } = await context.api.get<CampaignListJson>(`/campaigns${queryString({ limit: command.limit, before: command.before })}`);
  expectKeys(context.api, 'GET /campaigns', body, ['campaigns', 'next']);
  if (context.json) {
    printJson(context, body);
    return ExitCode.OK;
  }

  const out = context.io.stdout;
  if (body.campaigns.length === 0) {
    out.write(command.before === undefined ? 'no campaigns\n' : 'no more campaigns\n');
    return ExitCode.OK;
  }
  out.write(`${formatCampaignTable(body.campaigns)}\n`);
  if (body.next !== null) {
    const limit = command.limit === undefined ? '' : ` --limit ${command.limit}`;
    out.write(`\nnext page: ota campaign list${limit} --before ${body.next}\n`);
  }
  return ExitCode.OK;
}

async function showCampaign(id: string, context: CommandContext): Promise<ExitCode> {
  const { body } = await context.api.get<CampaignJson>(campaignPath(id));
  expectKeys(context.api, 'GET /campaigns/{id}', body, ['id', 'view', 'firmware', 'target']);
  if (context.json) printJson(context, body);
  else context.io.stdout.write(`${formatCampaignDetails(body)}\n`);
  return ExitCode.OK;
}

async function controlCampaign(action: Extract<Command, { kind: 'campaign-control' }>['action'], id: string, context: CommandContext): Promise<ExitCode> {
  const { body: view } = await context.api.post<CampaignView>(`${campaignPath(id)}/${action}`);
  expectKeys(context.api, `POST /campaigns/{id}/${action}`, view, ['state', 'counts']);
  if (context.json) {
    printJson(context, view);
    return ExitCode.OK;
  }

  const headline = action === 'retry-failed' ? `retry round ${view.round} started, state ${view.state}` : `now ${view.state}`;
  context.io.stdout.write(`campaign ${id}: ${headline}\n  ${formatPercent(view.percentDone)} done; ${formatOutcomeCounts(view.counts)}; in flight ${view.inFlight}\n`);
  return ExitCode.OK;
}

async function listDevices(command: Extract<Command, { kind: 'campaign-devices' }>, context: CommandContext): Promise<ExitCode> {
  const query = queryString({ outcome: command.outcome, limit: command.limit, after: command.after });
  const { body } = await context.api.get<DeviceOutcomeListJson>(`${campaignPath(command.id)}/devices${query}`);
  expectKeys(context.api, 'GET /campaigns/{id}/devices', body, ['devices', 'next']);
  if (context.json) {
    printJson(context, body);
    return ExitCode.OK;
  }

  const out = context.io.stdout;
  if (body.devices.length === 0) {
    const description = command.outcome === undefined ? 'device outcomes' : `devices with outcome ${command.outcome}`;
    out.write(`no ${description} recorded${command.after === undefined ? '' : ` after ${command.after}`}\n`);
    return ExitCode.OK;
  }
  out.write(`${formatDeviceTable(body.devices)}\n`);
  if (body.next !== null) {
    const options = [command.outcome && `--outcome ${command.outcome}`, command.limit && `--limit ${command.limit}`, `--after ${body.next}`];
    out.write(`\nnext page: ota campaign devices ${command.id} ${options.filter(Boolean).join(' ')}\n`);
  }
  return ExitCode.OK;
}

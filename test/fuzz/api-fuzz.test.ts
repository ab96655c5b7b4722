import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { CAMPAIGNS_COLLECTION } from '../../storage/campaign-store';
import { startEngine, type RunningEngine } from '../support/engine-harness';
import { campaignReadExpectation, chaosCase, createCampaignCase, readCase, startUpgradeCase, type ApiCase, type Expectation } from './support/api-cases';
import { checkProperty } from './support/fuzz-seed';
import { heapUsedAfterGc } from './support/heap';
import { sendRaw, type RawResponse } from './support/raw-http';
import { listRunsSettled, terminateRunning } from './support/temporal-runs';

// Property-based tests of the HTTP API on the real stack: generated requests, valid and invalid, against
// an engine on the harness's Temporal, FerretDB and Mosquitto. Every response must be below 500, and every
// 4xx a JSON body with `error` and a `message` naming the problem. Generated requests get the status the
// README documents, and the requests start exactly the upgrades and campaigns that were accepted.
// FUZZ_SEED=<n> (or `random`) changes the generated requests; a failure names the seed.

const RUN = randomUUID().slice(0, 6);
// Workflow ids are global in the Temporal namespace, so names and ids carry a prefix of this run.
const UPGRADE_PRODUCT_PREFIX = `fz${RUN}-`;
const CAMPAIGN_ID_PREFIX = `fzc${RUN}-`;
const CAMPAIGN_PRODUCT_PREFIX = `fzp${RUN}-`;

// Heap the fuzz run may leave behind after a full collection: the engine keeps small per-device and
// per-key maps, so a few MB are expected, while a leak of request bodies would exceed this quickly.
const MAX_HEAP_GROWTH_BYTES = 64 * 1024 * 1024;

const PROPERTY_TIMEOUT_MS = 300_000;

let engine: RunningEngine;
let mongo: MongoClient;
let heapBefore = 0;
/** Upgrade runs the API reported as started: run id to workflow id. */
const startedUpgrades = new Map<string, string>();
/** Campaign ids the API reported as created (201), in order. */
const createdCampaigns: string[] = [];
const statusCounts = new Map<number, number>();
let requestsSent = 0;

beforeAll(async () => {
  engine = await startEngine('fuzz-api');
  mongo = await MongoClient.connect(engine.mongo.url);
  heapBefore = heapUsedAfterGc();
});

afterAll(async () => {
  if (engine) await terminateRunning(engine.client, engine.temporal.taskQueue);
  await mongo?.close();
  await engine?.stop();
  const statuses = [...statusCounts.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`);
  console.info(`API fuzz: ${requestsSent} requests (${statuses.join(', ')})`);
}, 60_000);

/** Fails with the request and the response when `condition` is false. */
function check(condition: boolean, problem: string, apiCase: ApiCase, response: RawResponse): void {
  if (condition) return;
  const body = apiCase.request.body === undefined ? '' : String(apiCase.request.body).slice(0, 300);
  throw new Error(
    `${problem}\n  case: ${apiCase.label}\n  request: ${apiCase.request.method} ${apiCase.request.path.slice(0, 300)} ${JSON.stringify(apiCase.request.headers ?? {})} ${JSON.stringify(body)}\n  response: ${response.status} ${response.text.slice(0, 500)}`,
  );
}

/** Decoded product and device name of a POST /ota path. */
function namesOf(path: string): { productName: string; deviceName: string } {
  const [, , productName, deviceName] = path.split('?')[0]!.split('/');
  return { productName: decodeURIComponent(productName!), deviceName: decodeURIComponent(deviceName!) };
}

/** Checks that every response gets: no 5xx, and a 4xx is JSON with `error` and a `message` naming each listed field. */
function checkEveryAnswer(apiCase: ApiCase, response: RawResponse): void {
  check(response.status >= 200 && response.status < 500, `status ${response.status} is not below 500`, apiCase, response);
  if (response.status < 400 || apiCase.request.method === 'HEAD') return;
  check((response.contentType ?? '').includes('application/json'), 'a 4xx response is not JSON', apiCase, response);
  const body = response.json as { error?: unknown; message?: unknown; fields?: unknown } | undefined;
  check(typeof body?.error === 'string' && body.error !== '', 'a 4xx response has no `error`', apiCase, response);
  check(typeof body?.message === 'string' && body.message.trim() !== '', 'a 4xx response has no `message`', apiCase, response);
  if (body?.fields !== undefined) {
    check(Array.isArray(body.fields), '`fields` is not a list', apiCase, response);
    for (const problem of body.fields as { field?: unknown }[]) {
      check(typeof problem.field === 'string' && (body.message as string).includes(problem.field), `the message does not name field ${String(problem.field)}`, apiCase, response);
    }
  }
}

function checkExpectation(apiCase: ApiCase, expectation: Expectation, response: RawResponse): void {
  const body = response.json as { message?: string; fields?: { field: string }[]; workflowId?: string; runId?: string; id?: string } | undefined;
  switch (expectation.kind) {
    case 'accepted':
      check(expectation.statuses.includes(response.status), `a valid request got ${response.status}, expected one of ${expectation.statuses.join(', ')}`, apiCase, response);
      return;
    case 'invalid':
      check(response.status === 400, `an invalid request got ${response.status}, expected 400 naming ${expectation.fields.join(', ')}`, apiCase, response);
      for (const field of expectation.fields) {
        const named = (body?.fields ?? []).some((problem) => problem.field === field || problem.field.startsWith(`${field}.`));
        check(named, `the 400 does not list field ${field} in \`fields\``, apiCase, response);
        check((body?.message ?? '').includes(field), `the 400 message does not name field ${field}`, apiCase, response);
      }
      return;
    case 'rejected':
      check(expectation.statuses.includes(response.status), `got ${response.status}, expected one of ${expectation.statuses.join(', ')}`, apiCase, response);
      check(expectation.problem.test(body?.message ?? ''), `the message does not match ${expectation.problem}`, apiCase, response);
      return;
    case 'read':
      check(expectation.statuses.includes(response.status), `got ${response.status}, expected one of ${expectation.statuses.join(', ')}`, apiCase, response);
      return;
    case 'unchecked':
      return;
  }
}

/** Checks what an accepted request started against what started before, and records it. */
function recordStarts(apiCase: ApiCase, response: RawResponse): void {
  const body = response.json as { workflowId?: string; runId?: string; id?: string } | undefined;
  if (apiCase.starts?.kind === 'upgrade' && (response.status === 200 || response.status === 409)) {
    const { productName, deviceName } = namesOf(apiCase.request.path);
    check(body?.workflowId === `upgrade:${productName}:${deviceName}`, 'the response names another workflow than the device upgrade', apiCase, response);
    if (response.status === 200) {
      check(typeof body?.runId === 'string' && !startedUpgrades.has(body.runId), 'a 200 carries no new run id', apiCase, response);
      startedUpgrades.set(body!.runId!, body!.workflowId!);
    } else {
      check([...startedUpgrades.values()].includes(body!.workflowId!), 'a 409 names an upgrade that no accepted request started', apiCase, response);
    }
  }
  if (apiCase.starts?.kind === 'campaign' && (response.status === 200 || response.status === 201)) {
    const requestedId = apiCase.starts.id;
    check(typeof body?.id === 'string', 'the response carries no campaign id', apiCase, response);
    if (requestedId !== undefined) check(body!.id === requestedId, 'the response names another campaign than requested', apiCase, response);
    const known = createdCampaigns.includes(body!.id!);
    check(response.status === (known ? 200 : 201), `a campaign ${known ? 'created before' : 'not created before'} got ${response.status}`, apiCase, response);
    if (!known) createdCampaigns.push(body!.id!);
  }
}

async function send(apiCase: ApiCase): Promise<RawResponse> {
  const response = await sendRaw(engine.apiUrl, apiCase.request);
  requestsSent += 1;
  statusCounts.set(response.status, (statusCounts.get(response.status) ?? 0) + 1);
  return response;
}

async function runCase(apiCase: ApiCase): Promise<void> {
  const response = await send(apiCase);
  checkEveryAnswer(apiCase, response);
  checkExpectation(apiCase, apiCase.expectation, response);
  recordStarts(apiCase, response);
}

describe('API fuzz', () => {
  it(
    'answers generated upgrade requests',
    async () => {
      await checkProperty('POST /ota', fc.asyncProperty(startUpgradeCase(UPGRADE_PRODUCT_PREFIX), runCase), { numRuns: 450, seedOffset: 1 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers generated campaign requests',
    async () => {
      await checkProperty('POST /campaigns', fc.asyncProperty(createCampaignCase(CAMPAIGN_ID_PREFIX, CAMPAIGN_PRODUCT_PREFIX), runCase), { numRuns: 350, seedOffset: 2 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers generated reads and controls',
    async () => {
      await checkProperty(
        'reads and controls',
        fc.asyncProperty(readCase, async (generated) => {
          const { campaign, ...apiCase } = generated;
          if (campaign === undefined) return runCase(apiCase);
          const existing = campaign.kind === 'existing' && createdCampaigns.length > 0 ? createdCampaigns[campaign.index % createdCampaigns.length] : undefined;
          const id = existing ?? (campaign.kind === 'existing' ? `${CAMPAIGN_ID_PREFIX}none` : campaign.id);
          const resolved: ApiCase = { ...apiCase, request: { ...apiCase.request, path: apiCase.request.path.replace('{campaign}', encodeURIComponent(id)) } };
          const byId = campaignReadExpectation(apiCase.label, campaign, existing !== undefined);
          // The id is checked first, then the query string, then whether the campaign exists.
          let expectation: Expectation = byId;
          const queryRejected = apiCase.expectation.kind === 'invalid' || apiCase.expectation.kind === 'rejected';
          if (byId.kind !== 'invalid' && queryRejected) expectation = apiCase.expectation;
          return runCase({ ...resolved, expectation });
        }),
        { numRuns: 200, seedOffset: 3 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'survives random requests',
    async () => {
      await checkProperty('random requests', fc.asyncProperty(chaosCase, runCase), { numRuns: 150, seedOffset: 4 });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('started only what it accepted', async () => {
    const runs = await listRunsSettled(engine.client, engine.temporal.taskQueue);
    const upgradeRuns = runs.filter((run) => run.type === 'upgradeDevice');
    const campaignRuns = runs.filter((run) => run.type === 'upgradeCampaign');
    expect(runs.filter((run) => run.type !== 'upgradeDevice' && run.type !== 'upgradeCampaign')).toEqual([]);

    // Each upgrade run was announced by a 200, and each 200 started a run: rejected requests started none.
    expect(upgradeRuns.map((run) => `${run.workflowId} ${run.runId}`).sort()).toEqual([...startedUpgrades].map(([runId, workflowId]) => `${workflowId} ${runId}`).sort());

    // Each stored campaign was announced by a 201, and has exactly one workflow run.
    const stored = await mongo.db(engine.mongo.database).collection(CAMPAIGNS_COLLECTION).find({}, { projection: { _id: 1 } }).toArray();
    expect(stored.map((document) => String(document._id)).sort()).toEqual([...createdCampaigns].sort());
    expect(campaignRuns.map((run) => run.workflowId).sort()).toEqual(createdCampaigns.map((id) => `campaign:${id}`).sort());
    // An accepted campaign must not fail: it runs, waits for its start time, or completed.
    expect(campaignRuns.filter((run) => run.status !== 'RUNNING' && run.status !== 'COMPLETED')).toEqual([]);
  }, PROPERTY_TIMEOUT_MS);

  it('stays healthy and keeps its memory', async () => {
    expect((await sendRaw(engine.apiUrl, { method: 'GET', path: '/health' })).status).toBe(200);
    expect((await sendRaw(engine.apiUrl, { method: 'GET', path: '/ready' })).status).toBe(200);
    const growth = heapUsedAfterGc() - heapBefore;
    expect(growth).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  });
});

// Edge cases the properties above found, kept as plain examples of the documented behaviour.
describe("API edge cases", () => {
  const firmware = { type: 'firmware', url: 'http://firmware.example/1.1.pkg', version: '1.1', size: 1000, md5: 'c4ca4238a0b923820dcc509a6f75849b' };
  const json = { 'content-type': 'application/json' };

  // HTTP clients remove '.' and '..' segments from URLs, so such a campaign could not be read or controlled.
  it('rejects campaign ids of only dots', async () => {
    for (const id of ['.', '..']) {
      const body = { id, productName: `${CAMPAIGN_PRODUCT_PREFIX}dots`, target: { kind: 'all' }, firmware, startAt: '2099-01-01T00:00:00Z' };
      const response = await sendRaw(engine.apiUrl, { method: 'POST', path: '/campaigns', headers: json, body: JSON.stringify(body) });
      expect({ id, status: response.status }).toEqual({ id, status: 400 });
    }
  });

  // JSON text that is not an object is a bad body, not an unsupported media type.
  it('answers 400 to a JSON string body', async () => {
    const response = await sendRaw(engine.apiUrl, { method: 'POST', path: `/ota/${UPGRADE_PRODUCT_PREFIX}known/string-body`, headers: json, body: '"firmware"' });
    expect(response.status).toBe(400);
  });

  // Media types are case-insensitive, so an upper-case form type still reads `size` as a number.
  it('reads form fields sent with an upper-case media type', async () => {
    const form = new URLSearchParams({ ...firmware, size: String(firmware.size) }).toString();
    const response = await sendRaw(engine.apiUrl, {
      method: 'POST',
      path: `/ota/${UPGRADE_PRODUCT_PREFIX}known/form-upper-case`,
      headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded' },
      body: form,
    });
    expect(response.status).toBe(200);
  });

  // WHATWG URL parsing accepts a raw NUL, which would reach the device's HTTP client.
  it('rejects a url with a NUL character', async () => {
    const body = { ...firmware, url: 'http://firmware.example/1.1.pkg\u0000.txt' };
    const response = await sendRaw(engine.apiUrl, { method: 'POST', path: `/ota/${UPGRADE_PRODUCT_PREFIX}known/url-nul`, headers: json, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
  });
});

import fc from 'fast-check';
import { applyMutations, expectedFields, schemaMutation, type Mutation } from './body-mutations';
import {
  encodeSegment,
  FIRMWARE_FIELDS,
  firmwareMutation,
  futureStartAt,
  anyStartAt,
  invalidCampaignId,
  invalidFormValues,
  invalidName,
  invalidStartAt,
  invalidTarget,
  optionsMutation,
  overlongName,
  prefixedName,
  rolloutMutation,
  stringOf,
  tuningMutation,
  unknownKey,
  validCampaignIdSuffix,
  validFirmware,
  validFormFirmware,
  validName,
  validOptions,
  validRollout,
  validTarget,
  validTuning,
  wrongTypeValue,
  NAME_ALPHABET,
} from './field-values';
import { REMOVED, toFormValue, toJsonText } from './json-text';
import type { RawRequest } from './raw-http';

/** Expected response to a generated request, beyond the checks every response gets. */
export type Expectation =
  /** A valid request: one of the documented success statuses. */
  | { kind: 'accepted'; statuses: readonly number[] }
  /** Invalid fields: 400 whose message and `fields` name each of them. */
  | { kind: 'invalid'; fields: readonly string[] }
  /** Rejected before the fields are read: one of `statuses`, with a message matching `problem`. */
  | { kind: 'rejected'; statuses: readonly number[]; problem: RegExp }
  /** A read: one of `statuses`, and a 400 names `fields` when given. */
  | { kind: 'read'; statuses: readonly number[]; fields?: readonly string[] }
  /** Random input: only the checks every response gets. */
  | { kind: 'unchecked' };

export interface ApiCase {
  /** Short description, shown in a counterexample. */
  label: string;
  request: RawRequest;
  expectation: Expectation;
  /** Set for requests whose acceptance starts a workflow: which campaign id they name, if any. */
  starts?: { kind: 'upgrade' } | { kind: 'campaign'; id: string | undefined };
  /** Index into the campaigns created so far, for reads and controls of an existing campaign. */
  existingCampaign?: number;
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8'];
const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'Application/X-WWW-Form-Urlencoded'];
const FOREIGN_TYPES = ['application/xml', 'application/octet-stream', 'multipart/form-data; boundary=x', 'image/png', 'text/json', 'application/jsonx', 'application/vnd.api+json'];

/** How a body is sent: as JSON, as form fields, or in one of the ways the API must reject before reading fields. */
type BodyShape =
  | { kind: 'json'; contentType: string }
  | { kind: 'not-object'; text: string }
  | { kind: 'null' }
  | { kind: 'malformed'; cut: number }
  | { kind: 'garbage'; text: string }
  | { kind: 'text-plain' }
  | { kind: 'foreign-type'; contentType: string | undefined }
  | { kind: 'empty-json' }
  | { kind: 'no-body' }
  | { kind: 'too-large'; padding: number };

function bodyShape(bodyLimit: number): fc.Arbitrary<BodyShape> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...JSON_TYPES).map((contentType): BodyShape => ({ kind: 'json', contentType })) },
    { weight: 1, arbitrary: fc.constantFrom('[]', '[1,2]', '0', '-1.5', 'true', 'false', '[{"type":"firmware"}]', '"firmware"', '""').map((text): BodyShape => ({ kind: 'not-object', text })) },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'null' }) },
    { weight: 1, arbitrary: fc.nat().map((cut): BodyShape => ({ kind: 'malformed', cut })) },
    {
      weight: 1,
      arbitrary: fc
        .string({ maxLength: 200, unit: 'binary' })
        .filter((text) => text.trim() !== '' && !isJson(text))
        .map((text): BodyShape => ({ kind: 'garbage', text })),
    },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'text-plain' }) },
    { weight: 1, arbitrary: fc.option(fc.constantFrom(...FOREIGN_TYPES), { nil: undefined }).map((contentType): BodyShape => ({ kind: 'foreign-type', contentType })) },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'empty-json' }) },
    { weight: 1, arbitrary: fc.constant<BodyShape>({ kind: 'no-body' }) },
    { weight: 1, arbitrary: fc.integer({ min: bodyLimit + 1, max: bodyLimit + 64 * 1024 }).map((padding): BodyShape => ({ kind: 'too-large', padding })) },
  );
}

/** Form fields of a body, each value as text. */
function formOf(body: Record<string, unknown>): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) form.append(key, toFormValue(value));
  return form;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

interface RenderedBody {
  headers: Record<string, string>;
  body: string | undefined;
  /** For shapes rejected before the fields are read, the expectation that replaces the field-level one. */
  override?: Expectation;
  /**
   * True when Fastify rejects the body while parsing it (malformed JSON, a foreign media type, too large),
   * which happens before the route handler validates the names in the path.
   */
  rejectedByParser?: boolean;
}

/** Renders a body in the given shape, with the expectation of shapes that the API rejects before it reads the fields. */
function renderBody(
  body: Record<string, unknown>,
  shape: BodyShape,
  requiredFields: readonly string[],
): RenderedBody {
  const json = toJsonText(body);
  switch (shape.kind) {
    case 'json':
      return { headers: { 'content-type': shape.contentType }, body: json };
    case 'not-object':
      return { headers: { 'content-type': 'application/json' }, body: shape.text, override: { kind: 'invalid', fields: ['body'] } };
    case 'null':
      // The API reads a JSON null as an empty body, so every required field is missing.
      return { headers: { 'content-type': 'application/json' }, body: 'null', override: { kind: 'invalid', fields: requiredFields } };
    case 'malformed': {
      const cut = 1 + (shape.cut % (json.length - 1));
      return { headers: { 'content-type': 'application/json' }, body: json.slice(0, cut), override: { kind: 'rejected', statuses: [400], problem: /JSON/ }, rejectedByParser: true };
    }
    case 'garbage':
      return { headers: { 'content-type': 'application/json' }, body: shape.text, override: { kind: 'rejected', statuses: [400], problem: /JSON/ }, rejectedByParser: true };
    case 'text-plain':
      return { headers: { 'content-type': 'text/plain' }, body: json, override: { kind: 'rejected', statuses: [415], problem: /JSON object|form fields/ } };
    case 'foreign-type':
      return {
        headers: shape.contentType === undefined ? {} : { 'content-type': shape.contentType },
        body: json,
        override: { kind: 'rejected', statuses: [415], problem: /Unsupported Media Type/i },
        rejectedByParser: true,
      };
    case 'empty-json':
      return { headers: { 'content-type': 'application/json' }, body: '', override: { kind: 'rejected', statuses: [400], problem: /empty/ }, rejectedByParser: true };
    case 'no-body':
      return { headers: {}, body: undefined, override: { kind: 'invalid', fields: requiredFields } };
    case 'too-large':
      return {
        headers: { 'content-type': 'application/json' },
        body: toJsonText({ ...body, padding: 'x'.repeat(shape.padding) }),
        override: { kind: 'rejected', statuses: [413], problem: /too large/i },
        rejectedByParser: true,
      };
  }
}

// --- POST /ota/{productName}/{deviceName}

/** A path name: valid, invalid (400 naming the field) or longer than the router allows (414). */
type PathName = { kind: 'valid' | 'invalid' | 'overlong'; name: string; everyByte: boolean };

function pathName(valid: fc.Arbitrary<string>): fc.Arbitrary<PathName> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.record({ name: valid, everyByte: fc.boolean() }).map(({ name, everyByte }): PathName => ({ kind: 'valid', name, everyByte })) },
    { weight: 2, arbitrary: fc.record({ name: invalidName, everyByte: fc.boolean() }).map(({ name, everyByte }): PathName => ({ kind: 'invalid', name, everyByte })) },
    { weight: 1, arbitrary: overlongName.map((name): PathName => ({ kind: 'overlong', name, everyByte: false })) },
  );
}

// The router rejects a path parameter longer than 256 characters, counted after percent-decoding,
// before the API sees it.
const MAX_PARAM_LENGTH = 256;

/** Path segments of the names, and the expectation that invalid or overlong names impose. */
function namesInPath(names: Record<string, PathName>): { segments: Record<string, string>; expectation?: Expectation } {
  const segments = Object.fromEntries(Object.entries(names).map(([field, name]) => [field, encodeSegment(name.name, name.everyByte)]));
  if (Object.values(names).some((name) => name.name.length > MAX_PARAM_LENGTH)) {
    return { segments, expectation: { kind: 'rejected', statuses: [414], problem: /max param length/ } };
  }
  const invalid = Object.entries(names).filter(([, name]) => name.kind !== 'valid').map(([field]) => field);
  return { segments, expectation: invalid.length > 0 ? { kind: 'invalid', fields: invalid } : undefined };
}

const OTA_BODY_KEYS = [...FIRMWARE_FIELDS, 'options'];

/** A JSON body of POST /ota: valid, or with invalid, missing or extra fields, in any body shape. */
const otaJsonBody = fc
  .record({
    firmware: validFirmware,
    options: fc.option(validOptions, { nil: undefined }),
    mutations: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      {
        weight: 3,
        arbitrary: fc.array(
          fc.oneof(
            { weight: 4, arbitrary: firmwareMutation([]) },
            { weight: 3, arbitrary: optionsMutation('options') },
            { weight: 1, arbitrary: fc.tuple(unknownKey(OTA_BODY_KEYS), fc.jsonValue()).map(([key, value]) => schemaMutation(key, [key], value)) },
          ),
          { minLength: 1, maxLength: 3 },
        ),
      },
    ),
    shape: bodyShape(64 * 1024),
  })
  .map(({ firmware, options, mutations, shape }) => {
    const { body, applied } = applyMutations({ ...firmware, ...(options === undefined ? {} : { options }) }, mutations);
    const rendered = renderBody(body, shape, FIRMWARE_FIELDS);
    const fields = expectedFields(applied);
    return { label: `${shape.kind}${fields.length > 0 ? ` invalid ${fields.join(',')}` : ''}`, rendered, fields };
  });

/** A form body of POST /ota, as IotHub clients send it: string values, possibly repeated fields. */
const otaFormBody = fc
  .record({
    firmware: validFormFirmware,
    contentType: fc.constantFrom(...FORM_TYPES),
    mutations: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      {
        weight: 3,
        arbitrary: fc.array(
          fc.oneof(
            fc.constantFrom(...FIRMWARE_FIELDS).chain((field) => invalidFormValues[field].map((value) => schemaMutation(field, [field], value))),
            fc.constantFrom(...FIRMWARE_FIELDS).map((field) => schemaMutation(field, [field], REMOVED)),
            fc.string().map((value) => schemaMutation('options', ['options'], value)),
            fc.tuple(unknownKey(OTA_BODY_KEYS), fc.string()).map(([key, value]) => schemaMutation(key, [key], value)),
          ),
          { minLength: 1, maxLength: 3 },
        ),
      },
    ),
    repeated: fc.option(fc.constantFrom(...FIRMWARE_FIELDS), { nil: undefined }),
  })
  .map(({ firmware, contentType, mutations, repeated }) => {
    const { body, applied } = applyMutations(firmware, mutations);
    const form = formOf(body);
    // A field sent twice arrives as a list of two strings, which no field accepts.
    if (repeated !== undefined) {
      if (body[repeated] === undefined) form.append(repeated, 'again');
      form.append(repeated, 'again');
    }
    const fields = [...new Set([...expectedFields(applied), ...(repeated === undefined ? [] : [repeated])])];
    return {
      label: `form${fields.length > 0 ? ` invalid ${fields.join(',')}` : ''}`,
      rendered: { headers: { 'content-type': contentType }, body: form.toString() } as RenderedBody,
      fields,
    };
  });

/** POST /ota requests: valid ones, with invalid or overlong names, with invalid, missing or extra fields, and bodies of every shape. */
export function startUpgradeCase(productPrefix: string): fc.Arbitrary<ApiCase> {
  return fc
    .record({
      product: pathName(prefixedName(productPrefix)),
      // A few fixed names make some valid requests meet a running upgrade of the same device (409).
      device: pathName(fc.oneof(validName, fc.constantFrom('device-a', 'device-b', 'device-c'))),
      body: fc.oneof({ weight: 4, arbitrary: otaJsonBody }, { weight: 1, arbitrary: otaFormBody }),
    })
    .map(({ product, device, body }): ApiCase => {
      const path = namesInPath({ productName: product, deviceName: device });
      // The router checks the path's length, Fastify parses the body, and then the handler checks the
      // names, the shape of the body and its fields, in this order.
      const rendered = body.rendered;
      const overlong = path.expectation?.kind === 'rejected' ? path.expectation : undefined;
      const parser = rendered.rejectedByParser ? rendered.override : undefined;
      const expectation: Expectation =
        overlong ??
        parser ??
        path.expectation ??
        rendered.override ??
        (body.fields.length > 0 ? { kind: 'invalid', fields: body.fields } : { kind: 'accepted', statuses: [200, 409] });
      return {
        label: `POST /ota ${body.label}`,
        request: { method: 'POST', path: `/ota/${path.segments.productName}/${path.segments.deviceName}`, headers: body.rendered.headers, body: body.rendered.body },
        expectation,
        starts: { kind: 'upgrade' },
      };
    });
}

// --- POST /campaigns

const CAMPAIGN_KEYS = ['id', 'productName', 'target', 'firmware', 'rollout', 'upgrade', 'startAt', 'tuning'];

const campaignMutation: fc.Arbitrary<Mutation> = fc.oneof(
  invalidCampaignId.map((value) => schemaMutation('id', ['id'], value)),
  fc.oneof(invalidName, wrongTypeValue, fc.constant(REMOVED)).map((value) => schemaMutation('productName', ['productName'], value)),
  fc.oneof(invalidTarget, fc.constant(REMOVED)).map((value) => schemaMutation('target', ['target'], value)),
  { weight: 3, arbitrary: firmwareMutation(['firmware']) },
  fc.constantFrom<unknown>('firmware', 1, null, [], REMOVED).map((value) => schemaMutation('firmware', ['firmware'], value)),
  { weight: 2, arbitrary: rolloutMutation },
  { weight: 2, arbitrary: optionsMutation('upgrade') },
  invalidStartAt.map((value) => schemaMutation('startAt', ['startAt'], value)),
  tuningMutation,
  fc.tuple(unknownKey(CAMPAIGN_KEYS), fc.jsonValue()).map(([key, value]) => schemaMutation(key, [key], value)),
);

/** POST /campaigns requests: valid ones (some repeat an id, which returns the stored campaign), invalid ones, bodies of every shape. */
export function createCampaignCase(idPrefix: string, productPrefix: string): fc.Arbitrary<ApiCase> {
  return fc
    .record({
      // Ids repeat within a run, so that some valid requests name a campaign created before.
      id: fc.option(fc.oneof(validCampaignIdSuffix, fc.constantFrom('a', 'b', 'c')), { nil: undefined }),
      product: prefixedName(productPrefix),
      target: validTarget,
      firmware: validFirmware,
      rollout: fc.option(validRollout, { nil: undefined }),
      upgrade: fc.option(validOptions, { nil: undefined }),
      startAt: fc.option(anyStartAt, { nil: undefined }),
      futureStart: futureStartAt,
      tuning: fc.option(validTuning, { nil: undefined }),
      mutations: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(campaignMutation, { minLength: 1, maxLength: 3 }) }),
      form: fc.oneof({ weight: 30, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      shape: bodyShape(1024 * 1024),
    })
    .map(({ id, product, target, firmware, rollout, upgrade, startAt, futureStart, tuning, mutations, form, shape }): ApiCase => {
      // The products of this run have no devices, so only a list of device names would start upgrades:
      // such campaigns start far in the future and stay scheduled.
      const start = target.kind === 'devices' ? futureStart : startAt;
      const base: Record<string, unknown> = {
        ...(id === undefined ? {} : { id: `${idPrefix}${id}` }),
        productName: product,
        target,
        firmware,
        ...(rollout === undefined ? {} : { rollout }),
        ...(upgrade === undefined ? {} : { upgrade }),
        ...(start === undefined ? {} : { startAt: start }),
        ...(tuning === undefined ? {} : { tuning }),
      };
      const { body, applied } = applyMutations(base, mutations);
      const fields = expectedFields(applied);
      let rendered = renderBody(body, shape, ['productName', 'target', 'firmware']);
      let label = `POST /campaigns ${shape.kind}${fields.length > 0 ? ` invalid ${fields.join(',')}` : ''}`;
      if (form && shape.kind === 'json') {
        // Form fields are strings, and a campaign's target and firmware are objects.
        const formBody = formOf(body);
        rendered = { headers: { 'content-type': FORM_TYPES[0]! }, body: formBody.toString(), override: { kind: 'invalid', fields: ['target', 'firmware'] } };
        label = 'POST /campaigns form';
      }
      const expectation: Expectation = rendered.override ?? (fields.length > 0 ? { kind: 'invalid', fields } : { kind: 'accepted', statuses: [200, 201] });
      return {
        label,
        request: { method: 'POST', path: '/campaigns', headers: rendered.headers, body: rendered.body },
        expectation,
        starts: { kind: 'campaign', id: typeof body.id === 'string' ? body.id : undefined },
      };
    });
}

// --- Reads and controls: GET /campaigns, /campaigns/{id}, /campaigns/{id}/devices, POST /campaigns/{id}/{action}, GET /ota, GET /devices

/** A query parameter: valid, or invalid and then named in the 400 (`field`) or rejected with `problem`. */
type QueryValue = { text: string; invalid?: { field: string } | { problem: RegExp } };

function queryValue(field: string, valid: fc.Arbitrary<string>, invalid: fc.Arbitrary<string>): fc.Arbitrary<QueryValue> {
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((text): QueryValue => ({ text })) },
    { weight: 1, arbitrary: invalid.map((text): QueryValue => ({ text, invalid: { field } })) },
  );
}

const campaignListLimit = queryValue('limit', fc.integer({ min: 1, max: 100 }).map(String), fc.constantFrom('0', '101', '-1', 'abc', '1.5', '', '1e999', '99999999999999999999'));
const deviceListLimit = queryValue('limit', fc.integer({ min: 1, max: 1_000 }).map(String), fc.constantFrom('0', '1001', '-5', 'x', '2.5', ''));
const cursor = fc.oneof(
  { weight: 2, arbitrary: fc.record({ c: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }), i: fc.string({ maxLength: 40 }) }).map(({ c, i }): QueryValue => ({ text: Buffer.from(JSON.stringify({ c: c.toISOString(), i })).toString('base64url') })) },
  { weight: 1, arbitrary: stringOf('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 1, 60).map((text): QueryValue => ({ text, invalid: { problem: /invalid cursor/ } })) },
  { weight: 1, arbitrary: fc.string({ minLength: 201, maxLength: 400 }).map((text): QueryValue => ({ text, invalid: { field: 'before' } })) },
);
const outcome = queryValue('outcome', fc.constantFrom('succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'), fc.string({ maxLength: 20 }).filter((text) => !['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'].includes(text)));
const after = queryValue('after', fc.string({ maxLength: 64 }).filter((text) => text.length <= 64), fc.string({ minLength: 65, maxLength: 120 }).filter((text) => text.length > 64));

/** Builds a query string; with `repeat`, the first parameter is sent twice, which makes it a list. */
function queryString(parameters: Record<string, QueryValue | undefined>, unknown: string | undefined): { text: string; problems: QueryValue['invalid'][] } {
  const search = new URLSearchParams();
  const problems: QueryValue['invalid'][] = [];
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue;
    search.append(name, value.text);
    if (value.invalid) problems.push(value.invalid);
  }
  if (unknown !== undefined) {
    search.append(unknown, '1');
    problems.push({ field: unknown });
  }
  const text = search.toString();
  return { text: text === '' ? '' : `?${text}`, problems };
}

/** Expectation of a read whose parameters may be invalid: field problems first, then a cursor problem, else `statuses`. */
function readExpectation(problems: QueryValue['invalid'][], statuses: readonly number[]): Expectation {
  const fields = problems.flatMap((problem) => (problem && 'field' in problem ? [problem.field] : []));
  if (fields.length > 0) return { kind: 'invalid', fields };
  const cursorProblem = problems.find((problem) => problem && 'problem' in problem);
  if (cursorProblem && 'problem' in cursorProblem) return { kind: 'rejected', statuses: [400], problem: cursorProblem.problem };
  return { kind: 'read', statuses };
}

const unknownParameter = fc.option(stringOf('abcdefghijklmnopqrstuvwxyz_', 1, 10).filter((name) => !['limit', 'before', 'after', 'outcome'].includes(name)), { nil: undefined });

/** A campaign id for a read: one created earlier in the run (resolved when the case runs), an unknown one, or an invalid one. */
type CampaignRef = { kind: 'existing'; index: number } | { kind: 'unknown'; id: string } | { kind: 'invalid'; id: string };

const campaignRef: fc.Arbitrary<CampaignRef> = fc.oneof(
  { weight: 3, arbitrary: fc.nat().map((index): CampaignRef => ({ kind: 'existing', index })) },
  { weight: 1, arbitrary: stringOf(NAME_ALPHABET, 1, 64).filter((id) => !/^\.+$/.test(id)).map((id): CampaignRef => ({ kind: 'unknown', id: `unknown-${id}`.slice(0, 64) })) },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('a b', 'a:b', '$x', 'é', 'a%2Fb'), stringOf(NAME_ALPHABET, 65, 200)).map((id): CampaignRef => ({ kind: 'invalid', id })) },
);

/** A read or control request; `{campaign}` in the path is replaced with a campaign id when the case runs. */
export const readCase: fc.Arbitrary<ApiCase & { campaign?: CampaignRef }> = fc.oneof(
  fc.record({ limit: fc.option(campaignListLimit, { nil: undefined }), before: fc.option(cursor, { nil: undefined }), unknown: unknownParameter }).map(({ limit, before, unknown }) => {
    const query = queryString({ limit, before }, unknown);
    return { label: 'GET /campaigns', request: { method: 'GET', path: `/campaigns${query.text}` }, expectation: readExpectation(query.problems, [200]) };
  }),
  campaignRef.map((campaign) => ({ label: 'GET /campaigns/{id}', request: { method: 'GET', path: '/campaigns/{campaign}' }, expectation: { kind: 'unchecked' } as Expectation, campaign })),
  fc
    .record({ campaign: campaignRef, outcome: fc.option(outcome, { nil: undefined }), limit: fc.option(deviceListLimit, { nil: undefined }), after: fc.option(after, { nil: undefined }), unknown: unknownParameter })
    .map(({ campaign, outcome: outcomeValue, limit, after: afterValue, unknown }) => {
      const query = queryString({ outcome: outcomeValue, limit, after: afterValue }, unknown);
      return {
        label: 'GET /campaigns/{id}/devices',
        request: { method: 'GET', path: `/campaigns/{campaign}/devices${query.text}` },
        expectation: readExpectation(query.problems, [200, 404]),
        campaign,
      };
    }),
  fc.record({ campaign: campaignRef, action: fc.constantFrom('pause', 'resume', 'cancel', 'retry-failed') }).map(({ campaign, action }) => ({
    label: `POST /campaigns/{id}/${action}`,
    request: { method: 'POST', path: `/campaigns/{campaign}/${action}` },
    expectation: { kind: 'unchecked' } as Expectation,
    campaign,
  })),
  fc.record({ route: fc.constantFrom('ota', 'devices'), product: pathName(validName), device: pathName(validName) }).map(({ route, product, device }) => {
    const path = namesInPath({ productName: product, deviceName: device });
    return {
      label: `GET /${route}`,
      request: { method: 'GET', path: `/${route}/${path.segments.productName}/${path.segments.deviceName}` },
      expectation: path.expectation ?? ({ kind: 'read', statuses: [200, 404] } as Expectation),
    };
  }),
  fc.constant({ label: 'GET /health', request: { method: 'GET', path: '/health' }, expectation: { kind: 'read', statuses: [200] } as Expectation }),
  fc
    .record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path: fc.constantFrom('/ota', '/ota/p', '/ota/p/d/x', '/campaign', '/campaigns/a/b/c', '/', '/health/x', '/metricsx', '/%2e%2e/ota/p/d') })
    .map(({ method, path }) => ({ label: `${method} ${path}`, request: { method, path }, expectation: { kind: 'rejected', statuses: [404], problem: /no route/ } as Expectation })),
);

/** The expectation of a read or control of a campaign, once its id is known. */
export function campaignReadExpectation(label: string, campaign: CampaignRef, exists: boolean): Expectation {
  if (campaign.kind === 'invalid') return { kind: 'invalid', fields: ['id'] };
  if (label.startsWith('GET /campaigns/{id}/devices')) return { kind: 'read', statuses: exists ? [200] : [404] };
  if (label === 'GET /campaigns/{id}') return { kind: 'read', statuses: exists ? [200] : [404] };
  // Controls: 200 when the campaign's state allows the action, 409 when it does not.
  return { kind: 'read', statuses: exists ? [200, 409] : [404] };
}

// --- Random requests

/** Requests with random methods, paths, query strings, media types and bodies: only the checks every response gets. */
export const chaosCase: fc.Arbitrary<ApiCase> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    route: fc.constantFrom('/ota', '/devices', '/campaigns', '', '/health', '/ready'),
    segments: fc.array(fc.oneof(validName, fc.string({ maxLength: 30, unit: 'binary' }), fc.constantFrom('.', '..', '%', '%zz', 'pause', 'devices', 'retry-failed')), { maxLength: 4 }),
    query: fc.option(fc.string({ maxLength: 60, unit: 'binary' }), { nil: undefined }),
    contentType: fc.option(fc.constantFrom(...JSON_TYPES, ...FORM_TYPES, ...FOREIGN_TYPES, 'text/plain', 'APPLICATION/X-WWW-FORM-URLENCODED', 'application/json; charset=latin1'), { nil: undefined }),
    body: fc.option(
      fc.oneof(
        fc.jsonValue().map((value) => JSON.stringify(value)),
        fc.string({ maxLength: 300, unit: 'binary' }),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
        fc.constantFrom('{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', `${'['.repeat(5_000)}${']'.repeat(5_000)}`, '{"size":1,"size":"1"}'),
      ),
      { nil: undefined },
    ),
  })
  .map(({ method, route, segments, query, contentType, body }): ApiCase => {
    // Segments keep '.', '..' and '%' sequences as they are; anything else is percent-encoded, as node:http requires.
    const path = [route, ...segments.map((segment) => (/^(\.{1,2}|%.*)$/.test(segment) ? segment : encodeURIComponent(segment)))].join('/') || '/';
    const search = query === undefined ? '' : `?${encodeURI(query).replace(/#/g, '%23')}`;
    return {
      label: `chaos ${method} ${route}`,
      request: { method, path: `${path.startsWith('/') ? path : `/${path}`}${search}`, headers: contentType === undefined ? {} : { 'content-type': contentType }, body },
      expectation: { kind: 'unchecked' },
      starts: method === 'POST' && route === '/ota' ? { kind: 'upgrade' } : method === 'POST' && route === '/campaigns' ? { kind: 'campaign', id: undefined } : undefined,
    };
  });

import formBody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import { grpcStatusCode } from '../temporal/grpc-errors';
import type { UpgradeDefaults } from '../config/settings';
import { instrumentHttpRequests } from '../metrics/http-request-metrics';
import type { ProcessMetrics } from '../metrics/process-metrics';
import type { Logger } from '../observability/logger';
import { upgradeWorkflowId } from '../protocol';
import { installApiSecurity, type ApiSecurityOptions } from './auth/api-security';
import { UNPROTECTED_API_SETTINGS, type ApiSecuritySettings } from './auth/security-settings';
import { campaignWorkflowId } from '../workflows/campaign-input';
import type { MongoCampaignStorage } from '../storage/campaign-storage';
import type { DeviceRegistry } from '../storage/device-registry';
import { CampaignService } from './campaign-service';
import { RouteMethods } from './route-methods';
import { registerCampaignRoutes } from './routes/campaigns';
import { registerDeviceRoutes } from './routes/devices';
import { registerHealthRoutes } from './routes/health';
import { registerOtaRoutes } from './routes/ota';
import { UpgradeService } from './upgrade-service';

export interface ApiDependencies {
  temporal: Client;
  taskQueue: string;
  registry: DeviceRegistry;
  campaignStorage: MongoCampaignStorage;
  defaults: UpgradeDefaults;
  logger: Logger;
  /** Metrics of the process, served at `GET /metrics`; the API adds its request counters to them. */
  metrics: ProcessMetrics;
  /** Tokens, roles and rate limits; left out, the API is unprotected (UNPROTECTED_API_SETTINGS). */
  security?: ApiSecuritySettings;
  /** Clock of the rate limiter, for tests. */
  securityOptions?: ApiSecurityOptions;
}

/** Largest request body accepted, in bytes: requests are a few small fields. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Builds the HTTP API without listening, so tests can inject requests or listen on a free port. */
export function buildApiServer(deps: ApiDependencies): FastifyInstance {
  const app = Fastify({
    // Fastify's logger type is narrower than pino's; the instance is a pino logger either way.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: MAX_BODY_BYTES,
    // Longer than any valid name, so that too long a name gets the API's own 400 naming the field.
    routerOptions: { maxParamLength: 256 },
  });
  // Before any route is added, so that every route is recorded.
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => routeMethods.add(route.url, route.method));
  app.register(formBody, { bodyLimit: MAX_BODY_BYTES });
  // Before any route, so that the hook covers every route, /metrics included, and the not-found handler.
  installApiSecurity(app, deps.security ?? UNPROTECTED_API_SETTINGS, deps.securityOptions);
  instrumentHttpRequests(app, deps.metrics);

  // Parser errors (malformed JSON, oversized bodies, unsupported media types) keep Fastify's status code
  // and get the same body shape as validation errors. Anything else is a 500, logged with its request.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) {
      // Fastify's own message leaves out the limit, which differs between routes.
      const limit = request.routeOptions.bodyLimit ?? MAX_BODY_BYTES;
      const route = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
      return reply.code(413).send({ error: 'payload too large', message: `the request body is too large: the limit for ${route} is ${limit} bytes` });
    }
    if (status < 500) {
      // Fastify's messages may quote the whole URL or body; a short prefix is enough to say what failed.
      return reply.code(status).send({ error: 'invalid request', message: error.message.slice(0, 300) });
    }
    const unavailable = dependencyUnavailable(error);
    if (unavailable) {
      request.log.warn({ err: error, ...idsFromParams(request.params) }, `request failed: ${unavailable} unavailable`);
      return reply.code(503).send({ error: 'service unavailable', message: `${unavailable} did not answer in time; try again later` });
    }
    request.log.error({ err: error, ...idsFromParams(request.params) }, 'request failed');
    return reply.code(500).send({ error: 'internal error', message: 'the request failed; see the API log for details' });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = routeMethods.allowed(path);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ error: 'method not allowed', message: `${request.method} is not allowed for ${path}; allowed: ${allowed.join(', ')}` });
    }
    return reply.code(404).send({ error: 'not found', message: `no route for ${request.method} ${path}` });
  });

  const upgrades = new UpgradeService(deps.temporal, deps.taskQueue);
  registerHealthRoutes(app, {
    temporal: async () => {
      await deps.temporal.withDeadline(Date.now() + 2_000, () => deps.temporal.workflowService.getSystemInfo({}));
    },
    mongodb: async () => {
      await deps.registry.ping();
    },
  });
  registerOtaRoutes(app, { upgrades, registry: deps.registry, defaults: deps.defaults });
  registerDeviceRoutes(app, { registry: deps.registry });
  registerCampaignRoutes(app, { campaigns: new CampaignService(deps.temporal, deps.taskQueue, deps.campaignStorage, deps.defaults) });
  return app;
}

/** Names the dependency whose outage caused an error, or returns undefined for any other error. */
function dependencyUnavailable(error: Error): 'Temporal' | 'MongoDB' | undefined {
  const code = grpcStatusCode(error);
  if (code === 4 || code === 14) return 'Temporal';
  if (error instanceof MongoServerSelectionError || error instanceof MongoNetworkError) return 'MongoDB';
  return undefined;
}

/**
 * Device, campaign and workflow ids named by a request's path parameters, for the log line of a failed
 * request. The router limits each parameter to 256 characters, so the line stays short.
 */
function idsFromParams(params: unknown): Record<string, string> {
  const { productName, deviceName, id } = (params ?? {}) as Record<string, unknown>;
  const isName = (value: unknown): value is string => typeof value === 'string' && value !== '';
  if (isName(productName) && isName(deviceName)) return { productName, deviceName, workflowId: upgradeWorkflowId({ productName, deviceName }) };
  if (isName(id)) return { campaignId: id, workflowId: campaignWorkflowId(id) };
  return {};
}

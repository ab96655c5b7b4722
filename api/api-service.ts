import { Client, Connection } from '@temporalio/client';
import { ConfigError } from '../config/env';
import type { HttpSettings, MongoSettings, TemporalSettings, UpgradeDefaults } from '../config/settings';
import { ProcessMetrics } from '../metrics/process-metrics';
import type { Logger } from '../observability/logger';
import { MongoCampaignStorage } from '../storage/campaign-storage';
import { DeviceRegistry } from '../storage/device-registry';
import { connectMongo } from '../storage/mongo';
import { temporalConnectionOptions } from '../temporal/connection-options';
import { UNPROTECTED_API_SETTINGS, validateApiSecuritySettings, type ApiSecuritySettings } from './auth/security-settings';
import { reconcileCampaigns } from './campaign-reconciler';
import { CampaignService } from './campaign-service';
import { buildApiServer } from './server';

/** Maximum wait of one MongoDB operation: below the 10 s within which the API returns 503 for an unresponsive dependency. */
const API_MONGO_TIMEOUT_MS = 9_000;

export interface ApiService {
  /** Base URL the API listens on, such as http://127.0.0.1:3000. */
  readonly url: string;
  /** Resolves once the start-up reconciliation of campaigns with their workflows has finished. */
  readonly reconciled: Promise<void>;
  /** Stops taking connections, lets requests in progress finish, then closes the clients. */
  stop(): Promise<void>;
}

/**
 * Connects to MongoDB and Temporal and serves the HTTP API until stopped. `GET /metrics` serves
 * `metrics`, in which the API counts its requests, or a registry of its own when left out. A process
 * that runs the worker and the bridge as well passes their ProcessMetrics, so this one endpoint serves all.
 *
 * `security` sets the accepted tokens and the rate limit, and is checked before anything connects, so a
 * ConfigError stops the start at once. Left out, the API runs without authentication and without rate
 * limiting (UNPROTECTED_API_SETTINGS), which suits tests; `api/main.ts` always passes
 * loadApiSecuritySettings(), which rejects a start without tokens unless API_AUTH=disabled.
 */
export async function startApiService(options: {
  http: HttpSettings;
  temporal: TemporalSettings;
  mongo: MongoSettings;
  defaults: UpgradeDefaults;
  logger: Logger;
  metrics?: ProcessMetrics;
  security?: ApiSecuritySettings;
}): Promise<ApiService> {
  const { logger, temporal } = options;
  const security = options.security ?? UNPROTECTED_API_SETTINGS;
  validateApiSecuritySettings(security);

  const mongo = await connectMongo(options.mongo, logger, { operationTimeoutMs: API_MONGO_TIMEOUT_MS });
  const registry = new DeviceRegistry(mongo.db);
  await registry.ensureIndexes();
  const campaignStorage = new MongoCampaignStorage(mongo.db);
  await campaignStorage.ensureIndexes();
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  const client = new Client({ connection, namespace: temporal.namespace });

  const metrics = options.metrics ?? new ProcessMetrics(logger);
  const app = buildApiServer({ temporal: client, taskQueue: temporal.taskQueue, registry, campaignStorage, defaults: options.defaults, logger, metrics, security });
  try {
    await app.listen({ host: options.http.host, port: options.http.port });
  } catch (error) {
    await app.close();
    await connection.close();
    await mongo.client.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new Error(
        `cannot serve the API: port ${options.http.port} on ${options.http.host} (HTTP_PORT) is already in use; ` +
          'stop the process that listens on it (ss -ltnp shows it) or set HTTP_PORT to a free port',
      );
    }
    // The host does not resolve or is no address of this machine, which only another setting can fix.
    if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN') {
      throw new ConfigError(`invalid configuration: HTTP_HOST: cannot listen on '${options.http.host}' (${code}); set it to an address of this machine, such as 127.0.0.1`);
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.http.port;
  const url = `http://${options.http.host}:${port}`;
  logSecurity(logger, url, security, options.security === undefined);
  logger.info({ url }, 'API started');

  // Runs in the background: the API serves requests meanwhile, and a failure is logged, not fatal.
  const campaigns = new CampaignService(client, temporal.taskQueue, campaignStorage, options.defaults);
  const reconciled = reconcileCampaigns({ client, storage: campaignStorage, campaigns, logger }).catch((error: unknown) => {
    logger.error({ err: error }, 'failed to reconcile campaigns at start-up');
  });

  return {
    url,
    reconciled: reconciled.then(() => undefined),
    async stop() {
      await reconciled;
      await app.close();
      await connection.close();
      await mongo.client.close();
      logger.info('API stopped');
    },
  };
}

/** Logs who may call the API: token names and roles, never the tokens; a warning when anyone may. */
function logSecurity(logger: Logger, url: string, security: ApiSecuritySettings, leftOut: boolean): void {
  const { auth, healthAccess, metricsAccess, rateLimit } = security;
  if (auth.mode === 'tokens') {
    const principals = auth.tokens.map((token) => ({ name: token.name, role: token.role }));
    logger.info({ principals, healthAccess, metricsAccess, rateLimit }, 'API authentication enabled');
    return;
  }
  const cause = leftOut ? 'the API was started without security settings' : 'API_AUTH=disabled';
  logger.warn(
    { url, rateLimit: rateLimit.perSecond > 0 ? rateLimit : 'off' },
    `API authentication is disabled (${cause}): any client that reaches ${url} can start and cancel upgrades; ` +
      'set API_TOKENS or API_TOKENS_FILE to require tokens',
  );
}

import { MongoClient, type Db } from 'mongodb';
import type { MongoSettings } from '../config/settings';
import type { Logger } from '../observability/logger';

export interface MongoConnection {
  client: MongoClient;
  db: Db;
}

export interface MongoConnectOptions {
  /**
   * Maximum wait of one operation for an unresponsive server, in milliseconds, for callers with a response
   * deadline of their own. Without it an operation waits up to 60 s for each try.
   */
  operationTimeoutMs?: number;
}

/** Connects to MongoDB (or FerretDB) and checks the connection with a ping. */
export async function connectMongo(settings: MongoSettings, logger: Logger, options: MongoConnectOptions = {}): Promise<MongoConnection> {
  const { operationTimeoutMs } = options;
  const client = new MongoClient(settings.url, {
    appName: 'ota-campaign-engine',
    serverSelectionTimeoutMS: Math.min(10_000, operationTimeoutMs ?? 10_000),
    // Without a socket timeout a request to a frozen server waits forever. The slowest single operation
    // here, a page of 1,000 targets on FerretDB with 100,000 documents, takes a few seconds.
    socketTimeoutMS: operationTimeoutMs ?? 60_000,
    // After a timeout the driver retries the read or write on a new connection. On a frozen FerretDB that
    // made the wait 30 s with an 8 s socket timeout, so a bounded wait turns retries off. The driver's
    // timeoutMS setting is deprecated in driver 7.8 and had no effect in the same experiment.
    ...(operationTimeoutMs === undefined ? {} : { connectTimeoutMS: operationTimeoutMs, retryReads: false, retryWrites: false }),
    // FerretDB and a single MongoDB node both accept majority write concern; it keeps acknowledged
    // writes on a replica set from being rolled back. MONGO_WRITE_CONCERN changes it.
    writeConcern: { w: settings.writeConcern ?? 'majority' },
  });
  await client.connect();
  const db = client.db(settings.database);
  await db.command({ ping: 1 });
  logger.info({ database: settings.database, host: redactedHost(settings.url) }, 'connected to MongoDB');
  return { client, db };
}

/** Host part of a connection string, without credentials, for logs. */
export function redactedHost(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(url);
  return match?.[1] ?? 'unknown';
}

/** Error code MongoDB and FerretDB return for a duplicate key. */
export const DUPLICATE_KEY_ERROR = 11000;

export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_KEY_ERROR;
}

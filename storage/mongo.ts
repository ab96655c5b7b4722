import { MongoClient, type Db } from 'mongodb';
import type { MongoSettings } from '../config/settings';
import type { Logger } from '../observability/logger';

export interface MongoConnection {
  client: MongoClient;
  db: Db;
}

/** Connects to MongoDB (or FerretDB) and checks the connection with a ping. */
export async function connectMongo(settings: MongoSettings, logger: Logger): Promise<MongoConnection> {
  const client = new MongoClient(settings.url, {
    appName: 'ota-campaign-engine',
    serverSelectionTimeoutMS: 10_000,
    // Without a socket timeout a request to a frozen server waits forever. The slowest single operation
    // here, a page of 1,000 targets on FerretDB with 100,000 documents, takes a few seconds.
    socketTimeoutMS: 60_000,
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

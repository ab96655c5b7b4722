import { MongoBulkWriteError, type Collection, type OptionalUnlessRequiredId } from 'mongodb';
import { isDuplicateKeyError } from './mongo';

/**
 * Maximum documents per `insertMany` call. On FerretDB v1.24.2 (SQLite) 50,000 new documents went in
 * within a few seconds in batches of this size, while each single-document operation took 50-170 ms.
 */
export const MAX_INSERT_BATCH = 1_000;

/**
 * Maximum statements per update command (a `bulkWrite` of updates or replacements). FerretDB v1.24.2 on
 * SQLite never returned from an update command of 100 or more statements that match existing documents
 * and then hung until it was restarted, while 99 statements returned in 142 ms. 50 keeps a margin below that.
 */
export const MAX_UPDATE_BATCH = 50;

/** Maximum documents one page read returns. */
export const MAX_PAGE_SIZE = 1_000;

/** Splits `items` into consecutive chunks of at most `size` items. */
export function splitIntoChunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  }
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Throws a RangeError naming `label` unless `value` is an integer from 1 to `max`. */
export function assertBatchSize(label: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${label} must be an integer from 1 to ${max}, got ${value}`);
  }
}

/**
 * Returns true when a write failed only because of duplicate keys, so that every other statement of the
 * write is applied. A write concern error or any other write error returns false, and the caller rethrows it.
 */
export function hasOnlyDuplicateKeyErrors(error: unknown): boolean {
  if (!(error instanceof MongoBulkWriteError)) return isDuplicateKeyError(error);
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  if (writeErrors.length === 0) return false;
  if (error.result.getWriteConcernError() !== undefined) return false;
  return writeErrors.every((writeError) => writeError.code === 11000);
}

/**
 * Inserts documents in unordered batches of at most MAX_INSERT_BATCH and skips those whose `_id` is
 * already stored, so that a retried or replayed call writes the same set. Stored documents are never
 * changed. Returns how many documents this call inserted.
 */
export async function insertSkippingDuplicates<T extends { _id: string }>(
  collection: Collection<T>,
  documents: readonly OptionalUnlessRequiredId<T>[],
): Promise<number> {
  let inserted = 0;
  for (const batch of splitIntoChunks(documents, MAX_INSERT_BATCH)) {
    try {
      // Unordered, so a duplicate does not stop the rest of the batch (FerretDB v1.24.2 behaves the same).
      const result = await collection.insertMany(batch, { ordered: false });
      inserted += result.insertedCount;
    } catch (error) {
      if (!hasOnlyDuplicateKeyErrors(error)) throw error;
      inserted += error instanceof MongoBulkWriteError ? error.result.insertedCount : 0;
    }
  }
  return inserted;
}

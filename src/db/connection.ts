// Connects mongoose to MONGODB_URI or to the embedded FerretDB, and exposes the driver's Db for hot paths.
import mongoose from 'mongoose';
import type { CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';
import { getConfig } from '../../config';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded-ferretdb';

let embedded: EmbeddedDatabase | undefined;

export interface DatabaseHandle {
  uri: string;
  embedded: boolean;
}

export async function connectDatabase(options: { uri?: string; dbName?: string } = {}): Promise<DatabaseHandle> {
  const config = getConfig();
  let uri = options.uri ?? config.MONGODB_URI;
  if (!uri) {
    embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, cacheDir: config.ferretDbCacheDir });
    uri = embedded.uri;
  }
  mongoose.set('strictQuery', true);
  // Indexes are created explicitly by ensureIndexes() so that start-up fails loudly if one cannot be.
  mongoose.set('autoIndex', false);
  await mongoose.connect(uri, { dbName: options.dbName ?? config.MONGODB_DB, serverSelectionTimeoutMS: 10_000, maxPoolSize: 50 });
  return { uri, embedded: Boolean(embedded) };
}

/** The native driver database behind mongoose, for bulk writes and counters. */
export function db(): Db {
  const database = mongoose.connection.db;
  if (!database) throw new Error('database is not connected');
  return database as unknown as Db;
}

/**
 * Creates the models' indexes. On the embedded database only the unique ones: FerretDB v1.24.2's SQLite
 * backend answers every query but those by _id by scanning, so a secondary index is never read there,
 * only kept up to date on every insert (an extra JSON parse of each document). Such indexes left by an
 * earlier version are dropped. On MongoDB every index is created.
 */
export async function ensureIndexes(): Promise<void> {
  for (const model of Object.values(mongoose.models)) {
    if (!embedded) {
      await model.createIndexes();
      continue;
    }
    for (const [fields, options] of model.schema.indexes()) {
      if (options?.unique) {
        await model.collection.createIndex(fields as IndexSpecification, options as CreateIndexesOptions);
        continue;
      }
      const name = typeof options?.name === 'string' ? options.name : Object.entries(fields).map(([field, order]) => `${field}_${order}`).join('_');
      await model.collection.dropIndex(name).catch(() => undefined);
    }
  }
}

export async function isDatabaseReachable(): Promise<boolean> {
  try {
    await db().command({ ping: 1 });
    return true;
  } catch {
    return false;
  }
}

export async function disconnectDatabase(): Promise<void> {
  await mongoose.disconnect();
  if (embedded) {
    await embedded.stop();
    embedded = undefined;
  }
}

/** The typed driver collection behind a mongoose model, for hot paths that skip mongoose. */
export function collectionOf<T extends { _id: string }>(model: { collection: { collectionName: string } }) {
  return db().collection<T>(model.collection.collectionName);
}

// Connects mongoose to MONGODB_URI or to the embedded FerretDB, and exposes the driver's Db for hot paths.
import mongoose from 'mongoose';
import type { Collection, CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';
import { logger } from '../lib/logger';
import { startEmbeddedDatabase } from './embedded-ferretdb';
import { superviseEmbeddedDatabase, type SupervisedDatabase } from './embedded-supervisor';

let embedded: SupervisedDatabase | undefined;

// Since when the database has been unreachable, by who noticed: the embedded FerretDB's process (dead
// until restarted) and the driver (mongoose's connection state, from the driver's server monitoring).
const outages = new Map<'process' | 'driver', number>();
const markDown = (source: 'process' | 'driver') => {
  if (!outages.has(source)) outages.set(source, Date.now());
};
const markUp = (source: 'process' | 'driver') => {
  outages.delete(source);
};
let watchingDriver = false;

/** How long the database has been unreachable (0 while it is reachable): no round trip, for /healthz. */
export function databaseDownForMs(now: number = Date.now()): number {
  let since = now;
  for (const at of outages.values()) since = Math.min(since, at);
  return now - since;
}

/** What happens when the embedded database cannot be restarted: exit non-zero, for a supervisor to act. */
function exitOnDatabaseLost(): void {
  process.exit(1);
}

export interface DatabaseHandle {
  uri: string;
  embedded: boolean;
}

/** From the composition root: MONGODB_URI, MONGODB_DB, DATA_DIR and FERRETDB_CACHE_DIR (absolute). */
export interface DatabaseSettings {
  /** A MongoDB (or FerretDB) to connect to; absent: the embedded FerretDB, under dataDir. */
  uri?: string;
  dbName: string;
  dataDir: string;
  cacheDir: string;
}

export async function connectDatabase(settings: DatabaseSettings, options: { onDatabaseLost?: (error: Error) => void } = {}): Promise<DatabaseHandle> {
  let uri = settings.uri;
  if (!uri) {
    // Restarted with backoff if its process dies (src/db/embedded-supervisor.ts).
    embedded = await superviseEmbeddedDatabase({
      start: (port) => startEmbeddedDatabase({ dataDir: settings.dataDir, cacheDir: settings.cacheDir, ...(port !== undefined ? { port } : {}) }),
      logger,
      onDown: () => markDown('process'),
      onUp: () => markUp('process'),
      onGiveUp: options.onDatabaseLost ?? exitOnDatabaseLost,
    });
    uri = embedded.uri;
  }
  if (!watchingDriver) {
    watchingDriver = true;
    mongoose.connection.on('disconnected', () => markDown('driver'));
    mongoose.connection.on('connected', () => markUp('driver'));
    mongoose.connection.on('reconnected', () => markUp('driver'));
  }
  mongoose.set('strictQuery', true);
  // Indexes are created explicitly by ensureIndexes() so that start-up fails loudly if one cannot be.
  mongoose.set('autoIndex', false);
  await mongoose.connect(uri, { dbName: settings.dbName, serverSelectionTimeoutMS: 10_000, maxPoolSize: 50 });
  return { uri, embedded: Boolean(embedded) };
}

/** The native driver database behind mongoose, for bulk writes and counters. */
export function db(): Db {
  const database = mongoose.connection.db;
  if (!database) throw new Error('database is not connected');
  return database;
}

/**
 * Creates the models' indexes. On the embedded database only the unique ones: FerretDB v1.24.2's SQLite
 * backend answers every query but those by _id by scanning, so a secondary index is never read there,
 * only kept up to date on every insert (an extra JSON parse of each document). Such indexes left by an
 * earlier version are dropped. On MongoDB every index is created.
 */
export async function ensureIndexes(): Promise<void> {
  for (const model of Object.values(mongoose.models)) {
    const name = model.collection.collectionName;
    const collection = countingCollections.has(name) ? countingDb().collection(name) : db().collection(name);
    for (const [fields, options] of model.schema.indexes()) {
      if (!embedded || options?.unique) {
        await collection.createIndex(fields as IndexSpecification, options as CreateIndexesOptions);
        continue;
      }
      const indexName = typeof options?.name === 'string' ? options.name : Object.entries(fields).map(([field, order]) => `${field}_${order}`).join('_');
      await collection.dropIndex(indexName).catch(() => undefined);
    }
  }
}

/** Collections of the counting engine's database (countingDb), declared by their models. */
const countingCollections = new Set<string>();

/** Declares that a model's collection lives in the counting engine's database (countingDb). */
export function keepInCountingDb<M extends { collection: { collectionName: string } }>(model: M): M {
  countingCollections.add(model.collection.collectionName);
  return model;
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
  outages.clear();
}

/**
 * The counting engine's own database (docs/counting.md): the name of the service's database with
 * `_counting` appended. On the embedded database every database is a SQLite file of its own, with its own
 * writer: the aggregator's writes and the ingest log then never wait behind the raw records' inserts.
 */
export function countingDb(): Db {
  const main = db();
  let counting = countingDbs.get(main);
  if (!counting) {
    counting = mongoose.connection.getClient().db(`${main.databaseName}_counting`);
    countingDbs.set(main, counting);
  }
  return counting;
}

// The driver builds a Db or a Collection object (resolving its options) on every call: hot paths take
// them from here, one per connection's Db (a reconnect brings a new Db, so nothing stale is kept).
const countingDbs = new WeakMap<Db, Db>();
const collections = new WeakMap<Db, Map<string, Collection>>();

function cachedCollection<T extends { _id: string }>(database: Db, name: string): Collection<T> {
  let byName = collections.get(database);
  if (!byName) collections.set(database, (byName = new Map<string, Collection>()));
  let collection = byName.get(name);
  if (!collection) byName.set(name, (collection = database.collection(name)));
  return collection as unknown as Collection<T>;
}

/** A counting-engine collection (in countingDb) behind a mongoose model, used through the driver. */
export function countingCollectionOf<T extends { _id: string }>(model: { collection: { collectionName: string } }): Collection<T> {
  return cachedCollection<T>(countingDb(), model.collection.collectionName);
}

/** The typed driver collection behind a mongoose model, for hot paths that skip mongoose. */
export function collectionOf<T extends { _id: string }>(model: { collection: { collectionName: string } }): Collection<T> {
  return cachedCollection<T>(db(), model.collection.collectionName);
}

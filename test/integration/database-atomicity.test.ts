// What the service relies on from its database, checked against the embedded FerretDB (patched, see
// docs/embedded-database.md) or MONGODB_URI when set: single-document updates are atomic, conditional
// updates are compare-and-set, and `_id: {$in: [...]}` finds exactly the matching documents.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { MongoClient, ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import { getConfig } from '../../config';
import { connectTestDatabase } from '../helpers/app';

const CLIENTS = 8;

describe('database atomicity', function () {
  this.timeout(120_000);
  const clients: MongoClient[] = [];

  before(async () => {
    await connectTestDatabase();
    const uri = getConfig().MONGODB_URI ?? `mongodb://${mongoose.connection.host}:${mongoose.connection.port}/`;
    for (let i = 0; i < CLIENTS; i++) {
      const client = new MongoClient(uri, { maxPoolSize: 2 });
      await client.connect();
      clients.push(client);
    }
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
  });

  /** The same (fresh) collection as seen by each of the separate clients. */
  function collectionPerClient<T extends Document>(): Collection<T>[] {
    const name = `atomicity_${randomUUID().slice(0, 8)}`;
    return clients.map((client) => client.db(getConfig().MONGODB_DB).collection<T>(name));
  }

  it('when 8 clients each $inc one document 500 times with updateOne, then it counts exactly 4000', async () => {
    const collections = collectionPerClient<{ _id: string; n: number }>();
    await collections[0].insertOne({ _id: 'counter', n: 0 });
    await Promise.all(
      collections.map(async (c) => {
        for (let i = 0; i < 500; i++) await c.updateOne({ _id: 'counter' }, { $inc: { n: 1 } });
      }),
    );
    assert.equal((await collections[0].findOne({ _id: 'counter' }))?.n, 4000);
  });

  it('when one update command carries 300 statements, then it completes and applies each (FerretDB kept a connection per statement until the command ended: 100 hung it)', async () => {
    const [c] = collectionPerClient<{ _id: string; n: number }>();
    await c.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `d${i}`, n: 0 })));
    const result = await c.bulkWrite(
      Array.from({ length: 300 }, (_, i) => ({ updateOne: { filter: { _id: `d${i}` }, update: { $inc: { n: i + 1 } } } })),
      { ordered: false },
    );
    assert.equal(result.modifiedCount, 300);
    const docs = await c.find({}).toArray();
    assert.equal(docs.reduce((sum, d) => sum + d.n, 0), (300 * 301) / 2);
  });

  it('when 8 clients each $inc one document 500 times with findOneAndUpdate, then it counts exactly 4000 and each answer is distinct', async () => {
    const collections = collectionPerClient<{ _id: string; n: number }>();
    await collections[0].insertOne({ _id: 'counter', n: 0 });
    const seen: number[] = [];
    await Promise.all(
      collections.map(async (c) => {
        for (let i = 0; i < 500; i++) {
          const after = await c.findOneAndUpdate({ _id: 'counter' }, { $inc: { n: 1 } }, { returnDocument: 'after' });
          seen.push(after!.n);
        }
      }),
    );
    assert.equal((await collections[0].findOne({ _id: 'counter' }))?.n, 4000);
    assert.equal(new Set(seen).size, 4000, 'two updates returned the same value');
  });

  it('when 8 clients change the same draft to running at once, then exactly one of them wins', async () => {
    const collections = collectionPerClient<{ _id: string; status: string; by?: number }>();
    for (let round = 0; round < 5; round++) {
      const _id = `experiment-${round}`;
      await collections[0].insertOne({ _id, status: 'draft' });
      const results = await Promise.all(
        collections.map((c, by) => c.findOneAndUpdate({ _id, status: 'draft' }, { $set: { status: 'running', by } })),
      );
      const winners = results.filter((r) => r !== null);
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      const stored = await collections[0].findOne({ _id });
      assert.equal(stored?.status, 'running');
      assert.equal(stored?.by, results.findIndex((r) => r !== null));
    }
  });

  it('when 8 clients claim 1,000 queued entries until none is left, then each entry is claimed exactly once', async () => {
    const collections = collectionPerClient<{ _id: string; status: string; by?: number }>();
    await collections[0].insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: `entry-${i}`, status: 'queued' })));
    const claims = new Map<string, number[]>();
    await Promise.all(
      collections.map(async (c, by) => {
        for (;;) {
          const claimed = await c.findOneAndUpdate({ status: 'queued' }, { $set: { status: 'claimed', by } });
          if (!claimed) return;
          claims.set(claimed._id, [...(claims.get(claimed._id) ?? []), by]);
        }
      }),
    );
    const twice = [...claims].filter(([, by]) => by.length > 1);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} entries claimed more than once`);
    assert.equal(claims.size, 1000);
    assert.equal(await collections[0].countDocuments({ status: 'queued' }), 0);
    // the stored claimant is the one that was told it won
    for (const entry of await collections[0].find({}).toArray()) assert.deepEqual(claims.get(entry._id), [entry.by]);
  });

  it('when 8 clients delete the same document with deleteOne and a filter at once, then it is deleted once', async () => {
    const collections = collectionPerClient<{ _id: string; status: string }>();
    for (let round = 0; round < 5; round++) {
      await collections[0].insertMany([
        { _id: `a-${round}`, status: 'expired' },
        { _id: `b-${round}`, status: 'expired' },
      ]);
      const results = await Promise.all(collections.map((c) => c.deleteOne({ _id: `a-${round}`, status: 'expired' })));
      assert.equal(results.reduce((sum, r) => sum + r.deletedCount, 0), 1, `round ${round}`);
      // by a filter that matches two documents: each deleteOne deletes one, no document twice
      await collections[0].insertOne({ _id: `a-${round}`, status: 'expired' });
      const byStatus = await Promise.all(collections.map((c) => c.deleteOne({ status: 'expired' })));
      assert.equal(byStatus.reduce((sum, r) => sum + r.deletedCount, 0), 2, `round ${round}, by status`);
      assert.equal(await collections[0].countDocuments({}), 0);
    }
  });

  it('when 8 clients upsert the same missing document at once, then one inserts it and the others update it', async () => {
    const collections = collectionPerClient<{ _id: string; n: number }>();
    const results = await Promise.allSettled(collections.map((c) => c.updateOne({ _id: 'upserted' }, { $inc: { n: 1 } }, { upsert: true })));
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const upserts = fulfilled.filter((r) => r.value.upsertedCount === 1).length;
    assert.equal(upserts, 1);
    // MongoDB may answer a racing upsert with a duplicate-key error; every answered one counted once
    assert.equal((await collections[0].findOne({ _id: 'upserted' }))?.n, fulfilled.length);
  });

  it('when inserts run beside concurrent updates, then every insert lands and duplicates are still rejected', async () => {
    const collections = collectionPerClient<{ _id: string; n: number }>();
    await collections[0].insertOne({ _id: 'hot', n: 0 });
    await Promise.all(
      collections.map(async (c, k) => {
        for (let i = 0; i < 50; i++) {
          await c.insertOne({ _id: `doc-${k}-${i}`, n: i });
          await c.updateOne({ _id: 'hot' }, { $inc: { n: 1 } });
        }
      }),
    );
    assert.equal(await collections[0].countDocuments({}), 1 + CLIENTS * 50);
    assert.equal((await collections[0].findOne({ _id: 'hot' }))?.n, CLIENTS * 50);
    await assert.rejects(collections[1].insertOne({ _id: 'doc-0-0', n: 0 }), (e: { code?: number }) => e.code === 11000);
  });

  describe('find by _id $in', () => {
    interface Doc { _id: string | ObjectId | number; tag: string }
    let c: Collection<Doc>;
    const objectIds = Array.from({ length: 5 }, () => new ObjectId());

    before(async () => {
      [c] = collectionPerClient<Doc>();
      await c.insertMany([
        ...Array.from({ length: 200 }, (_, i) => ({ _id: `s-${i}`, tag: i % 2 ? 'odd' : 'even' })),
        ...objectIds.map((_id, i) => ({ _id, tag: `oid-${i}` })),
        { _id: 7, tag: 'number' },
      ]);
    });

    const ids = (docs: Doc[]) => docs.map((d) => String(d._id)).sort();

    it('when some ids are missing, then exactly the stored ones are returned', async () => {
      const found = await c.find({ _id: { $in: ['s-1', 's-5', 'missing', 's-199', 's-200'] } }).toArray();
      assert.deepEqual(ids(found), ['s-1', 's-199', 's-5']);
      assert.deepEqual(await c.find({ _id: { $in: ['missing'] } }).toArray(), []);
      assert.deepEqual(await c.find({ _id: { $in: [] } }).toArray(), []);
    });

    it('when the ids are ObjectIds, then the ObjectIds match and a string spelling the same hex does not', async () => {
      const found = await c.find({ _id: { $in: [objectIds[0], objectIds[3], new ObjectId()] } }).toArray();
      assert.deepEqual(found.map((d) => d.tag).sort(), ['oid-0', 'oid-3']);
      // FerretDB stores both as the same JSON text, so SQLite finds the ObjectId; the filter drops it
      assert.deepEqual(await c.find({ _id: { $in: [objectIds[0].toHexString()] } }).toArray(), []);
      assert.deepEqual(await c.find({ _id: objectIds[0].toHexString() }).toArray(), []);
    });

    it('when the ids mix strings, ObjectIds and numbers, then each matches by its own type', async () => {
      const found = await c.find({ _id: { $in: ['s-2', objectIds[1], 7, 's-2', null] } } as Filter<Doc>).toArray();
      assert.deepEqual(found.map((d) => d.tag).sort(), ['even', 'number', 'oid-1']);
      const numbersOnly = await c.find({ _id: { $in: [7, 8] } }).toArray();
      assert.deepEqual(numbersOnly.map((d) => d.tag), ['number']);
    });

    it('when $in is combined with other conditions or sits beside them, then the other conditions still apply', async () => {
      const found = await c.find({ _id: { $in: ['s-1', 's-2', 's-3', 's-4'] }, tag: 'odd' }).toArray();
      assert.deepEqual(ids(found), ['s-1', 's-3']);
      assert.equal((await c.find({ _id: 's-1', tag: 'even' }).toArray()).length, 0);
      const regex = await c.find({ _id: { $in: [/^s-19\d$/] } }).toArray();
      assert.equal(regex.length, 10);
    });

    it('when 1,000 ids are looked up at once, or updated and deleted by $in, then exactly those documents change', async () => {
      const wanted = Array.from({ length: 1000 }, (_, i) => `s-${i}`); // 200 stored, 800 missing
      assert.equal((await c.find({ _id: { $in: wanted } }).toArray()).length, 200);
      const updated = await c.updateMany({ _id: { $in: ['s-10', 's-11', 'missing'] } }, { $set: { tag: 'updated' } });
      assert.equal(updated.matchedCount, 2);
      assert.deepEqual(ids(await c.find({ tag: 'updated' }).toArray()), ['s-10', 's-11']);
      const deleted = await c.deleteMany({ _id: { $in: ['s-10', 's-11', objectIds[4], 'missing'] } });
      assert.equal(deleted.deletedCount, 3);
      assert.equal(await c.countDocuments({}), 200 + 5 + 1 - 3);
    });
  });
  describe('delete by _id', () => {
    interface Doc { _id: string | ObjectId; tag: string }

    async function seeded(): Promise<{ c: Collection<Doc>; oid: ObjectId }> {
      const [c] = collectionPerClient<Doc>();
      const oid = new ObjectId();
      await c.insertMany([...Array.from({ length: 50 }, (_, i) => ({ _id: `d-${i}`, tag: 'plain' })), { _id: oid, tag: 'oid' }]);
      return { c: c, oid };
    }

    it('when deleteMany names _ids by $in, with repeats and missing ones, then exactly those documents go and the count says so', async () => {
      const { c } = await seeded();
      const result = await c.deleteMany({ _id: { $in: ['d-1', 'd-2', 'd-2', 'missing', 'd-49'] } });
      assert.equal(result.deletedCount, 3);
      assert.equal(await c.countDocuments({}), 51 - 3);
      assert.equal(await c.countDocuments({ _id: { $in: ['d-1', 'd-2', 'd-49'] } }), 0);
      assert.equal((await c.deleteOne({ _id: 'd-3' })).deletedCount, 1);
      assert.equal((await c.deleteOne({ _id: 'd-3' })).deletedCount, 0);
      assert.equal(await c.countDocuments({}), 51 - 4);
    });

    it("when a string spelling an ObjectId's hex is deleted, then the ObjectId document stays; deleted by its ObjectId, it goes", async () => {
      const { c, oid } = await seeded();
      assert.equal((await c.deleteMany({ _id: { $in: [oid.toHexString(), 'd-0'] } })).deletedCount, 1);
      assert.equal((await c.deleteOne({ _id: oid.toHexString() })).deletedCount, 0);
      assert.equal((await c.findOne({ _id: oid }))?.tag, 'oid');
      assert.equal((await c.deleteMany({ _id: { $in: [oid] } })).deletedCount, 1);
      assert.equal(await c.countDocuments({}), 49);
    });

    it('when 8 clients delete overlapping _id lists at once, then every listed document goes and each is counted once', async () => {
      const collections = collectionPerClient<Doc>();
      await collections[0].insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: `x-${i}`, tag: 'x' })));
      const results = await Promise.all(
        collections.map((c, k) => c.deleteMany({ _id: { $in: Array.from({ length: 500 }, (_, i) => `x-${(k * 200 + i) % 2000}`) } })),
      );
      const listed = new Set(collections.flatMap((_, k) => Array.from({ length: 500 }, (_, i) => (k * 200 + i) % 2000)));
      assert.equal(results.reduce((sum, r) => sum + r.deletedCount, 0), listed.size);
      assert.equal(await collections[0].countDocuments({}), 2000 - listed.size);
    });
  });
});

// The embedded database after a kill -9 that came while FerretDB was creating something:
//  - a database: FerretDB creates the file first and its metadata table next, and a file left without
//    that table made every later start fail ("no such table: _ferretdb_collections"). The wrapper
//    (scripts/ferretdb/main.go) removes such a file, which holds nothing, before FerretDB opens the files;
//  - a collection: its table, metadata row and unique _id index were three steps, so a kill left a
//    table that could never be created again, or a collection accepting duplicate _ids. Patch 0005 makes
//    them one transaction (docs/embedded-database.md);
//  - an index: made before the metadata naming it, so a kill between them made every later create of
//    it fail ("already exists"). Patch 0005 creates indexes IF NOT EXISTS.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { connectMongo, startStandaloneDatabase, tempDir, withOutputOnFailure } from '../helpers/service-process';

describe('embedded database: a database whose creation was interrupted', function () {
  this.timeout(300_000);

  it('when a database file without any table is left in the data folder, then FerretDB starts, the file is gone, and the other databases keep their data', async () => {
    const dataDir = tempDir('verdict-unfinished-db-');
    const database = await startStandaloneDatabase(dataDir);
    await withOutputOnFailure(
      () => [database],
      async () => {
        const kept = await connectMongo(database.uri, 'verdict_kept');
        await kept.collection('things').insertOne({ _id: 'one' as never, n: 1 });
        await database.kill('SIGKILL');
        // What a kill between FerretDB's two steps leaves: the file, and no table in it.
        const unfinished = path.join(dataDir, 'db', 'verdict_unfinished.sqlite');
        fs.writeFileSync(unfinished, '');

        await database.restart();
        assert.equal(fs.existsSync(unfinished), false, 'the unfinished database file is removed');
        assert.match(database.output(), /removed a database file whose creation was interrupted/);
        const again = await connectMongo(database.uri, 'verdict_kept');
        assert.deepEqual(await again.collection('things').findOne({ _id: 'one' as never }), { _id: 'one', n: 1 });
        // The database is made again when it is written to.
        const made = await connectMongo(database.uri, 'verdict_unfinished');
        await made.collection('things').insertOne({ _id: 'two' as never });
        assert.equal(await made.collection('things').countDocuments(), 1);
      },
    );
  });

  it('when FerretDB is killed -9 again and again while collections are being created, then after each restart every collection is whole or absent: its index can be created again, it can be written, and it refuses a duplicate _id or key', async () => {
    const database = await startStandaloneDatabase(tempDir('verdict-interrupted-create-'));
    await withOutputOnFailure(
      () => [database],
      async () => {
        let attempted = 0;
        for (let round = 0; round < 5; round++) {
          const client = new MongoClient(database.uri, { serverSelectionTimeoutMS: 2_000, retryWrites: false });
          await client.connect();
          const target = client.db('verdict_creates');
          let created = 0;
          // Four creators at once, so that FerretDB is inside a creation (several commits) almost all the
          // time, and the kill lands in one.
          const creating = Promise.all(
            Array.from({ length: 4 }, async () => {
              for (;;) {
                const name = `c${attempted++}`;
                await target.createCollection(name);
                await target.collection(name).createIndex({ k: 1 }, { unique: true, name: 'k_1' });
                created++;
              }
            }),
          ).catch(() => undefined);
          while (created < 10 + round * 7) await new Promise((resolve) => setTimeout(resolve, 3));
          await database.kill('SIGKILL');
          await creating;
          await client.close(true);
          await database.restart();
        }
        const again = await connectMongo(database.uri, 'verdict_creates');
        for (let i = 0; i < attempted; i++) {
          const things = again.collection<{ _id: string; k?: number }>(`c${i}`);
          // What the service does on every start: creating its indexes again is a no-op.
          await things.createIndex({ k: 1 }, { unique: true, name: 'k_1' });
          await things.insertOne({ _id: 'one', k: 1 });
          await assert.rejects(things.insertOne({ _id: 'one', k: 2 }), (error: { code?: number }) => error.code === 11000, `c${i} refuses a duplicate _id`);
          await assert.rejects(things.insertOne({ _id: 'two', k: 1 }), (error: { code?: number }) => error.code === 11000, `c${i} keeps its unique index`);
          assert.equal(await things.countDocuments(), 1);
        }
      },
    );
  });
});

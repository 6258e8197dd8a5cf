// The embedded database starts again after a kill -9 that came while FerretDB was creating a database:
// it creates the database file first and its metadata table next, and a file left without that table
// made every later start fail ("no such table: _ferretdb_collections"). The wrapper
// (scripts/ferretdb/main.go) removes such a file, which holds nothing, before FerretDB opens the files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
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
});

// Builds the embedded database (FerretDB) before the tests run, so no test hook waits on a first build.
// Nothing to do when MONGODB_URI points at a real MongoDB.
import { getConfig } from '../config';
import { ensureFerretDb } from '../src/db/embedded-ferretdb';

const config = getConfig();
if (config.MONGODB_URI) {
  process.stdout.write('verdict: MONGODB_URI is set; using that database\n');
} else {
  const binary = ensureFerretDb(config.ferretDbCacheDir);
  process.stdout.write(`verdict: embedded database ready (${binary})\n`);
}

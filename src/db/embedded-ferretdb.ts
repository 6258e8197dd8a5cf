// Verdict's embedded database: FerretDB v1.24.2 on SQLite, built once from the Go module proxy into a
// project-local cache and started as a child process on a free loopback port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MongoClient } from 'mongodb';

const FERRETDB_VERSION = 'v1.24.2';
/** The Go module (scripts/ferretdb) that pins FerretDB and wraps its embeddable package. */
const BUILD_MODULE_DIR = path.resolve(__dirname, '../../..', 'scripts', 'ferretdb');

export interface EmbeddedDatabase {
  uri: string;
  stop(): Promise<void>;
}

type Print = (message: string) => void;

/** The cache folder is keyed by the wrapper's sources too, so a changed wrapper is rebuilt, not reused. */
function binaryPath(cacheDir: string): string {
  const sources = createHash('sha256');
  for (const file of ['main.go', 'go.mod', 'go.sum']) sources.update(fs.readFileSync(path.join(buildModuleDir(), file)));
  return path.join(cacheDir, `${FERRETDB_VERSION}-${sources.digest('hex').slice(0, 12)}`, 'bin', 'ferretdb');
}

function buildModuleDir(): string {
  // Works from both src/ (tsx) and dist/src/ (compiled): walk up to the folder that holds scripts/ferretdb.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'scripts', 'ferretdb', 'go.mod');
    if (fs.existsSync(candidate)) return path.dirname(candidate);
  }
  return BUILD_MODULE_DIR;
}

/** Builds FerretDB with `go install` into the cache unless it is there already; returns the binary. */
export function ensureFerretDb(cacheDir: string, print: Print = (m) => process.stderr.write(`${m}\n`)): string {
  const binary = binaryPath(cacheDir);
  if (fs.existsSync(binary)) return binary;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new Error(
      'The embedded database (FerretDB) is built with Go, and Go was not found on PATH. ' +
        'Install Go 1.24 or newer (https://go.dev/doc/install), or set MONGODB_URI to use your own MongoDB.',
    );
  }
  const gobin = path.dirname(binary);
  fs.mkdirSync(gobin, { recursive: true });
  print(`verdict: building FerretDB ${FERRETDB_VERSION} (embedded database) with ${go.stdout.trim()}`);
  print(`verdict:   go install (module ${path.relative(process.cwd(), buildModuleDir()) || '.'}) -> ${gobin}`);
  print('verdict:   the first build downloads modules and compiles for a few minutes; later starts reuse it');
  const started = Date.now();
  const result = spawnSync('go', ['install', '.'], {
    cwd: buildModuleDir(),
    env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !fs.existsSync(binary)) {
    throw new Error(`building FerretDB failed (go install exited with ${result.status ?? result.signal}); set MONGODB_URI to use your own MongoDB`);
  }
  print(`verdict: FerretDB built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binary;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilServing(uri: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`FerretDB exited with code ${child.exitCode} before it answered`);
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`FerretDB did not answer within ${timeoutMs} ms: ${(lastError as Error)?.message}`);
}

export interface StartOptions {
  dataDir: string;
  cacheDir: string;
  print?: Print;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Starts FerretDB with its SQLite files under dataDir and resolves once it answers a ping. */
export async function startEmbeddedDatabase(options: StartOptions): Promise<EmbeddedDatabase> {
  const binary = ensureFerretDb(options.cacheDir, options.print);
  const sqliteDir = path.join(options.dataDir, 'db');
  fs.mkdirSync(sqliteDir, { recursive: true });
  const port = await freeLoopbackPort();
  const listenAddr = `127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${sqliteDir}/`,
      `--listen-addr=${listenAddr}`,
      '--telemetry=disable',
      '--debug-addr=-',
      `--state-dir=${sqliteDir}`,
      `--log-level=${options.logLevel ?? 'error'}`,
    ],
    // stdin stays an open pipe: FerretDB exits when it closes, so it never outlives this process.
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const uri = `mongodb://${listenAddr}/`;
  try {
    await waitUntilServing(uri, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    uri,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

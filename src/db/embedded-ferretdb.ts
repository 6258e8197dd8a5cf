// Verdict's embedded database: FerretDB v1.24.2 on SQLite, built once from the Go module proxy into a
// project-local cache and started as a child process on a free loopback port.
//
// The build patches FerretDB first (scripts/ferretdb/patches/*.patch, docs/embedded-database.md): the
// module source is copied into the cache, patched there, and the wrapper is built against that copy
// through a generated go.mod (`go install -modfile=…`) that adds a `replace`; the committed
// scripts/ferretdb/go.mod stays untouched and buildable on its own (then unpatched).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { childProcessEnv } from '../../config';

const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
/** The Go module (scripts/ferretdb) that pins FerretDB and wraps its embeddable package. */
const BUILD_MODULE_DIR = path.resolve(__dirname, '../../..', 'scripts', 'ferretdb');

export interface EmbeddedDatabase {
  uri: string;
  /** The loopback port it listens on (a restart on the same port lets a driver reconnect to the address it knows). */
  port: number;
  /** Resolves when the FerretDB process has exited, for whatever reason (stop, kill or a crash). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the FerretDB process a signal and resolves once it has exited (tests use SIGKILL to crash it). */
  kill(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

type Print = (message: string) => void;

/** The patches applied to FerretDB's source, in the order they are applied (by file name). */
function patchFiles(): string[] {
  const dir = path.join(buildModuleDir(), 'patches');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => path.join(dir, name));
}

/**
 * The cache folder is keyed by the wrapper's sources and the patches too, so a changed wrapper or patch
 * is rebuilt, not reused.
 */
function buildDir(cacheDir: string): string {
  const sources = createHash('sha256');
  for (const file of ['main.go', 'go.mod', 'go.sum']) sources.update(fs.readFileSync(path.join(buildModuleDir(), file)));
  for (const file of patchFiles()) sources.update(`\0${path.basename(file)}\0`).update(fs.readFileSync(file));
  return path.join(cacheDir, `${FERRETDB_VERSION}-${sources.digest('hex').slice(0, 12)}`);
}

function binaryPath(cacheDir: string): string {
  return path.join(buildDir(cacheDir), 'bin', 'ferretdb');
}

function buildModuleDir(): string {
  // Works from both src/ (tsx) and dist/src/ (compiled): walk up to the folder that holds scripts/ferretdb.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'scripts', 'ferretdb', 'go.mod');
    if (fs.existsSync(candidate)) return path.dirname(candidate);
  }
  return BUILD_MODULE_DIR;
}

/**
 * Applies a unified diff (as `diff -ruN` or `git diff` write it) to the tree under root. Each hunk must
 * match the file exactly (it is looked for near its stated line); anything else is an error, so a
 * patch that no longer fits FerretDB's source fails the build instead of building something else.
 */
export function applyUnifiedDiff(root: string, patchText: string, patchName = 'patch'): string[] {
  const lines = patchText.split('\n');
  const touched: string[] = [];
  let i = 0;
  const stripPrefix = (p: string) => p.replace(/\t.*$/, '').trim().replace(/^[ab]\//, '');
  while (i < lines.length) {
    if (!(lines[i].startsWith('--- ') && lines[i + 1]?.startsWith('+++ '))) {
      i++;
      continue;
    }
    const oldPath = stripPrefix(lines[i].slice(4));
    const newPath = stripPrefix(lines[i + 1].slice(4));
    const target = newPath === '/dev/null' ? oldPath : newPath;
    const file = path.join(root, target);
    if (path.relative(root, file).startsWith('..')) throw new Error(`${patchName}: path ${target} leaves the source tree`);
    i += 2;
    const creating = oldPath === '/dev/null';
    if (!creating && !fs.existsSync(file)) throw new Error(`${patchName}: ${target} does not exist in FerretDB's source`);
    const content = creating ? [] : fs.readFileSync(file, 'utf8').split('\n');
    let offset = 0; // lines added minus lines removed by the hunks applied so far
    while (i < lines.length && lines[i].startsWith('@@ ')) {
      const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(lines[i]);
      if (!header) throw new Error(`${patchName}: bad hunk header ${JSON.stringify(lines[i])}`);
      i++;
      const before: string[] = [];
      const after: string[] = [];
      let oldLeft = header[2] === undefined ? 1 : Number(header[2]);
      let newLeft = header[4] === undefined ? 1 : Number(header[4]);
      while (oldLeft > 0 || newLeft > 0) {
        if (i >= lines.length) throw new Error(`${patchName}: hunk for ${target} ends early`);
        const line = lines[i++];
        if (line.startsWith('\\')) continue; // "\ No newline at end of file"
        const kind = line === '' ? ' ' : line[0]; // a blank context line may have lost its space
        if (kind !== ' ' && kind !== '-' && kind !== '+') throw new Error(`${patchName}: bad hunk line ${JSON.stringify(line)}`);
        if (kind !== '+') {
          before.push(line.slice(1));
          oldLeft--;
        }
        if (kind !== '-') {
          after.push(line.slice(1));
          newLeft--;
        }
      }
      if (lines[i]?.startsWith('\\')) i++;
      const expected = Math.max(0, Number(header[1]) - 1 + offset);
      const at = findBlock(content, before, expected);
      if (at < 0) throw new Error(`${patchName}: hunk ${header[0]} does not apply to ${target} (near line ${expected + 1})`);
      content.splice(at, before.length, ...after);
      offset += after.length - before.length;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (newPath === '/dev/null') fs.rmSync(file);
    else fs.writeFileSync(file, creating && content[content.length - 1] !== '' ? `${content.join('\n')}\n` : content.join('\n'));
    touched.push(target);
  }
  if (touched.length === 0) throw new Error(`${patchName}: no file changes found`);
  return touched;
}

/** The index of block in content closest to expected, or -1. */
function findBlock(content: string[], block: string[], expected: number): number {
  const matchesAt = (at: number) => block.every((line, k) => content[at + k] === line);
  for (let distance = 0; distance <= content.length; distance++) {
    if (expected - distance >= 0 && expected - distance + block.length <= content.length && matchesAt(expected - distance)) return expected - distance;
    if (distance > 0 && expected + distance + block.length <= content.length && matchesAt(expected + distance)) return expected + distance;
  }
  return -1;
}

/** `go mod download` of FerretDB (from the module cache or the proxy); returns the module's source folder. */
function downloadFerretDbModule(print: Print): string {
  print(`verdict:   go mod download ${FERRETDB_MODULE}@${FERRETDB_VERSION}`);
  const result = spawnSync('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    cwd: buildModuleDir(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  let info: { Dir?: string; Error?: string } = {};
  try {
    info = JSON.parse(result.stdout) as typeof info;
  } catch {
    // reported below
  }
  if (result.status !== 0 || !info.Dir || !fs.existsSync(info.Dir)) {
    throw new Error(
      `building FerretDB failed (go mod download ${FERRETDB_MODULE}@${FERRETDB_VERSION}: ${info.Error ?? `exited with ${result.status ?? result.signal}`}); set MONGODB_URI to use your own MongoDB`,
    );
  }
  return info.Dir;
}

/**
 * Copies FerretDB's module source into the build folder, applies the patches there and writes the
 * go.mod/go.sum that build the wrapper against the copy; returns that go.mod.
 */
function preparePatchedSource(dir: string, print: Print): string {
  const moduleDir = downloadFerretDbModule(print);
  const src = path.join(dir, 'ferretdb-src');
  fs.rmSync(src, { recursive: true, force: true });
  print(`verdict:   copy ${moduleDir} -> ${path.relative(process.cwd(), src)}`);
  fs.cpSync(moduleDir, src, { recursive: true });
  // the module cache is read-only; the copy must be writable to be patched (and removed later)
  const makeWritable = (p: string) => {
    const stat = fs.statSync(p);
    fs.chmodSync(p, stat.mode | 0o200);
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) makeWritable(path.join(p, name));
  };
  makeWritable(src);
  for (const patch of patchFiles()) {
    const files = applyUnifiedDiff(src, fs.readFileSync(patch, 'utf8'), path.basename(patch));
    print(`verdict:   apply ${path.relative(process.cwd(), patch)} (${files.join(', ')})`);
  }
  const goMod = path.join(dir, 'go.mod');
  fs.writeFileSync(
    goMod,
    `${fs.readFileSync(path.join(buildModuleDir(), 'go.mod'), 'utf8').trimEnd()}\n\n// generated by src/db/embedded-ferretdb.ts: build against the patched copy\nreplace ${FERRETDB_MODULE} ${FERRETDB_VERSION} => ${src}\n`,
  );
  fs.copyFileSync(path.join(buildModuleDir(), 'go.sum'), path.join(dir, 'go.sum'));
  return goMod;
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
  print('verdict:   the first build downloads modules and compiles for a few minutes; later starts reuse it');
  const started = Date.now();
  const goMod = preparePatchedSource(path.dirname(gobin), print);
  print(`verdict:   go install -modfile=${path.relative(process.cwd(), goMod)} (module ${path.relative(process.cwd(), buildModuleDir()) || '.'}) -> ${gobin}`);
  const result = spawnSync('go', ['install', `-modfile=${goMod}`, '.'], {
    cwd: buildModuleDir(),
    env: childProcessEnv({ GOBIN: gobin, GOFLAGS: '-mod=mod' }),
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
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`FerretDB exited (${child.exitCode ?? child.signalCode}) before it answered`);
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
  /** A FerretDB binary to run instead of the one built into cacheDir (benchmarks compare builds). */
  binary?: string;
  print?: Print;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** The loopback port to listen on (to start again where a stopped one listened); default: a free one. */
  port?: number;
  /** Receives what FerretDB writes to its standard error (otherwise it goes to this process's). */
  onOutput?: (text: string) => void;
}

/** Starts FerretDB with its SQLite files under dataDir and resolves once it answers a ping. */
export async function startEmbeddedDatabase(options: StartOptions): Promise<EmbeddedDatabase> {
  const binary = options.binary ?? ensureFerretDb(options.cacheDir, options.print);
  const sqliteDir = path.join(options.dataDir, 'db');
  fs.mkdirSync(sqliteDir, { recursive: true });
  const port = options.port ?? (await freeLoopbackPort());
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
    // stdin stays an open pipe: FerretDB exits when it closes, so it never outlives this process. In a
    // process group of its own, a Ctrl-C in the terminal reaches only the service, whose shutdown stops
    // FerretDB last (not first, which would fail the requests in flight and look like a crash).
    { stdio: ['pipe', 'ignore', options.onOutput ? 'pipe' : 'inherit'], detached: true },
  );
  if (options.onOutput) {
    const onOutput = options.onOutput;
    child.stderr?.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
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
    port,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
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

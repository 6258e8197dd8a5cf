// Verdict and its database as separate processes, for crash tests: a service child (`node -r tsx/cjs
// src/server.ts`) with its own environment, and a standalone FerretDB that a test can kill -9 and start
// again on the same files and port. Everything started here is stopped by the root afterAll hook.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { getConfig } from '../../config';
import { freeLoopbackPort, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded-ferretdb';
import { ADMIN_KEY, testApp } from './app';
import { registerStopper } from './resources';

const ROOT = path.resolve(__dirname, '../..');

/** Runs body; a failure carries the last output of the given services (what they logged is the clue). */
export async function withOutputOnFailure<T>(services: () => (ServiceProcess | StandaloneDatabase | undefined)[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const outputs = services()
      .filter((s): s is ServiceProcess | StandaloneDatabase => s !== undefined)
      .map((s) => ('pid' in s ? `--- service pid ${s.pid} (${s.url}) ---\n${s.output().slice(-6_000)}` : `--- database ${s.uri} ---\n${s.output().slice(-6_000) || '(nothing written)'}`));
    if (error instanceof Error && outputs.length > 0) error.message += `\n${outputs.join('\n')}`;
    throw error;
  }
}

/** A temporary folder removed after the run. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  registerStopper(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Children of a process, from /proc (Linux). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** The embedded FerretDB processes a service process runs (other children, such as tsx's esbuild, are left out). */
export function ferretDbChildren(pid: number): number[] {
  return childPids(pid).filter((child) => {
    try {
      return fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0].endsWith('/ferretdb');
    } catch {
      return false;
    }
  });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ServiceProcess {
  url: string;
  port: number;
  pid: number;
  /** The last part of the child's stdout and stderr (for failure messages). */
  output(): string;
  /** Resolves with the exit code (or signal) once the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal and resolves once the child (and an embedded FerretDB of its own) has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** SIGTERM (a graceful shutdown), SIGKILL after 8 s. */
  stop(): Promise<void>;
}

export interface ServiceProcessOptions {
  /** DATA_DIR; without mongodbUri the child runs its own embedded FerretDB there. */
  dataDir: string;
  mongodbUri?: string;
  /** MONGODB_DB (default: verdict). */
  dbName?: string;
  /** Default: a free loopback port (pass the same one to start again where a killed child listened). */
  port?: number;
  env?: Record<string, string>;
}

/** Spawns the service and resolves once GET /readyz answers 200. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const port = options.port ?? (await freeLoopbackPort());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DATA_DIR: options.dataDir,
    FERRETDB_CACHE_DIR: getConfig().ferretDbCacheDir,
    MONGODB_DB: options.dbName ?? 'verdict',
    ADMIN_API_KEY: ADMIN_KEY,
    TRACKING_SECRET: process.env.TRACKING_SECRET!,
    PUBLIC_BASE_URL: 'https://verdict.test',
    COUNTING_GRACE_MS: '2000',
    JOB_LEASE_MS: '5000',
    AGGREGATOR_IDLE_MS: '20',
    SCHEDULER_INTERVAL_MS: '1000',
    ...(options.mongodbUri ? { MONGODB_URI: options.mongodbUri } : {}),
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const exited = exit.then(() => undefined);
  let ferretPids: number[] = [];
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const waitForFerretDbToGo = async () => {
    // An embedded FerretDB exits when its parent's pipe closes; make sure, so the next start has the files alone.
    await until(() => ferretPids.every((pid) => !alive(pid)), 10_000, 'the embedded FerretDB to exit').catch(() => {
      for (const pid of ferretPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
  };
  // Those it runs now too: the service starts its FerretDB again when one dies.
  const noteFerretDbChildren = () => {
    if (!options.mongodbUri && !hasExited()) ferretPids = [...new Set([...ferretPids, ...ferretDbChildren(child.pid!)])];
  };
  const kill = async (signal: NodeJS.Signals) => {
    noteFerretDbChildren();
    if (!hasExited()) child.kill(signal);
    await exited;
    await waitForFerretDbToGo();
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      noteFerretDbChildren();
      if (!hasExited()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
        await exited;
        clearTimeout(timer);
      }
      await waitForFerretDbToGo();
    })();
    return stopping;
  };
  registerStopper(stop);

  const url = `http://127.0.0.1:${port}`;
  // What /readyz last answered (or why it could not), for the message when it never says ready.
  let lastAnswer = 'no answer yet';
  try {
    await until(
      async () => {
        if (hasExited()) throw new Error(`the service exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
          lastAnswer = `${res.status} ${(await res.text()).slice(0, 500)}`;
          return res.status === 200;
        } catch (error) {
          lastAnswer = String(error);
          return false;
        }
      },
      90_000,
      `${url}/readyz`,
    );
  } catch (error) {
    await kill('SIGKILL');
    if (error instanceof Error) error.message += `\n/readyz last answered: ${lastAnswer}\n--- service output ---\n${output.slice(-6_000)}`;
    throw error;
  }
  if (!options.mongodbUri) ferretPids = ferretDbChildren(child.pid!);
  return { url, port, pid: child.pid!, output: () => output, exited: exit, kill, stop };
}

export interface StandaloneDatabase {
  readonly uri: string;
  readonly port: number;
  /** kill -9 (or another signal); resolves once FerretDB has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts FerretDB again on the same files and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** What its FerretDB processes wrote (each start, in order), for failure messages. */
  output(): string;
}

/** A FerretDB of the test's own (not a service's child), on a fixed loopback port. */
export async function startStandaloneDatabase(dataDir: string = tempDir('verdict-db-')): Promise<StandaloneDatabase> {
  const port = await freeLoopbackPort();
  let output = '';
  let starts = 0;
  const start = () => {
    output += `[start ${++starts} at ${new Date().toISOString()}]\n`;
    return startEmbeddedDatabase({
      dataDir,
      cacheDir: getConfig().ferretDbCacheDir,
      port,
      logLevel: 'warn',
      onOutput: (text) => {
        output = (output + text).slice(-20_000);
      },
    });
  };
  let current: EmbeddedDatabase = await start();
  const stop = () => current.stop();
  registerStopper(() => current.stop());
  return {
    uri: current.uri,
    port,
    kill: (signal = 'SIGKILL') => current.kill(signal),
    async restart() {
      await current.stop();
      current = await start();
    },
    stop,
    output: () => output,
  };
}

/** A driver connection of the test's own (to read raw records), closed after the run. */
export async function connectMongo(uri: string, dbName: string): Promise<Db> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  registerStopper(() => client.close());
  return client.db(dbName);
}

let served: Promise<string> | undefined;

/** The in-process test app (and its aggregator) on a loopback port, for clients that speak HTTP. */
export function serveTestApp(): Promise<string> {
  served ??= (async () => {
    const app = await testApp();
    const server = http.createServer(app);
    await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', () => resolve()).once('error', reject));
    registerStopper(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  })();
  return served;
}

/**
 * For a describe block: stops what each test started, newest first, after the test. Returns the function
 * a test hands its resources to.
 */
export function stoppedAfterEach(): (...resources: { stop(): Promise<void> }[]) => void {
  let running: { stop(): Promise<void> }[] = [];
  afterEach(async function () {
    this.timeout(60_000);
    for (const r of running.reverse()) await r.stop();
    running = [];
  });
  return (...resources) => {
    running.push(...resources);
  };
}

// Which Chromium the browser tests launch. In order:
//   1. CHROME_PATH, when set (no fallback: a wrong path fails the launch);
//   2. the system's (/usr/bin/chromium, chromium-browser, google-chrome...), unless
//      VERDICT_TEST_NO_SYSTEM_CHROMIUM=1 (the first found; if it fails to start, 3. is used);
//   3. the headless Chromium inside the @sparticuz/chromium devDependency, so `npm install && npm test`
//      needs no browser on the machine and downloads nothing at run time.
// The package is built for Amazon Linux: beside the brotli-compressed binary it ships NSS/NSPR/expat
// (al2023.tar.br), which a bare Debian or Ubuntu lacks, and a font. Its executablePath() unpacks only on
// Lambda-like hosts and into a fixed /tmp/chromium that a killed or concurrent run can leave half-written,
// so the files are unpacked here, once per package version and user, into a folder renamed into place
// when complete; the libraries and fonts reach only the browser's process, through its environment.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/opt/google/chrome/chrome'];
const LAUNCH_TIMEOUT_MS = 30_000;

interface Candidate {
  executablePath: string;
  env?: NodeJS.ProcessEnv;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Launches the first Chromium that starts (see the top of this file) with `args`. */
export async function launchChromium(args: string[]): Promise<Browser> {
  const launch = (c: Candidate) => chromium.launch({ executablePath: c.executablePath, env: c.env, args, timeout: LAUNCH_TIMEOUT_MS });
  const chosen = process.env.CHROME_PATH;
  if (chosen) return launch({ executablePath: chosen });
  if (process.env.VERDICT_TEST_NO_SYSTEM_CHROMIUM !== '1') {
    const system = SYSTEM_CHROMIUM.find(isExecutable);
    if (system) {
      try {
        return await launch({ executablePath: system });
      } catch (err) {
        process.stderr.write(`browser tests: ${system} did not start (${(err as Error).message.split('\n')[0]}); using @sparticuz/chromium\n`);
      }
    }
  }
  return launch(await bundledChromium());
}

/** The package's Chromium, unpacked (first time only) into the temporary folder. */
async function bundledChromium(): Promise<Candidate> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`@sparticuz/chromium ships a Linux x64 Chromium only (this is ${process.platform}/${process.arch}): install Chromium or Chrome, or set CHROME_PATH`);
  }
  const entry = require.resolve('@sparticuz/chromium');
  const root = path.resolve(path.dirname(entry), '..', '..');
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const dir = path.join(os.tmpdir(), `verdict-chromium-${version}-${process.getuid?.() ?? 'user'}`);
  const executablePath = path.join(dir, 'chromium');
  const libs = path.join(dir, 'al2023', 'lib');
  const fonts = path.join(dir, 'fonts');
  if (![executablePath, path.join(libs, 'libnss3.so'), path.join(fonts, 'fonts.conf')].every((f) => fs.existsSync(f))) {
    fs.rmSync(dir, { recursive: true, force: true });
    await unpack(path.join(root, 'bin'), dir, createRequire(entry));
  }
  const env = { ...process.env, LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), FONTCONFIG_PATH: fonts };
  return { executablePath, env };
}

/** Unpacks bin/ into a staging folder beside `dir`, then renames it to `dir` (a concurrent run may win). */
async function unpack(bin: string, dir: string, packageRequire: NodeJS.Require): Promise<void> {
  // The package's own tar reader, resolved from the package (it is its dependency, not ours). Run as root,
  // it would give the files the archive's owners (its build users, maybe someone's uid here): not wanted.
  const tarFs = packageRequire('tar-fs') as { extract(cwd: string, opts: { chown: boolean }): NodeJS.WritableStream };
  const tar = { extract: (cwd: string) => tarFs.extract(cwd, { chown: false }) };
  const brotli = (file: string) => [fs.createReadStream(path.join(bin, file)), zlib.createBrotliDecompress()] as const;
  removeStaleStaging(dir);
  const staging = fs.mkdtempSync(`${dir}.partial-`);
  try {
    await Promise.all([
      pipeline(...brotli('chromium.br'), fs.createWriteStream(path.join(staging, 'chromium'), { mode: 0o755 })),
      // SwiftShader (software GL) sits beside the binary, as the package lays it out.
      pipeline(...brotli('swiftshader.tar.br'), tar.extract(staging)),
      pipeline(...brotli('al2023.tar.br'), tar.extract(path.join(staging, 'al2023'))),
      pipeline(...brotli('fonts.tar.br'), tar.extract(path.join(staging, 'fonts'))),
    ]);
    // The shipped fonts.conf names /tmp/fonts; this one names where the font is.
    const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    fs.writeFileSync(
      path.join(staging, 'fonts', 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${xml(path.join(dir, 'fonts', 'fonts'))}</dir>\n  <cachedir>${xml(path.join(dir, 'fonts-cache'))}</cachedir>\n</fontconfig>\n`,
    );
    try {
      fs.renameSync(staging, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EEXIST' && code !== 'ENOTEMPTY') || !fs.existsSync(path.join(dir, 'chromium'))) throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Staging folders left by runs killed while unpacking (over an hour old: not a concurrent run's). */
function removeStaleStaging(dir: string): void {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.partial-`;
  for (const name of fs.readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    const stale = path.join(parent, name);
    try {
      if (Date.now() - fs.statSync(stale).mtimeMs > 3_600_000) fs.rmSync(stale, { recursive: true, force: true });
    } catch {
      // another run removed it
    }
  }
}

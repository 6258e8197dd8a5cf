#!/usr/bin/env node
// `npm start`: builds dist/ first when it is missing or older than any source file, then runs the service.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = path.join(root, 'dist', 'src', 'server.js');

function newestSourceMtime(dir) {
  let newest = 0;
  for (const item of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSourceMtime(full));
    else if (item.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

const sources = Math.max(
  newestSourceMtime(path.join(root, 'src')),
  newestSourceMtime(path.join(root, 'config')),
  fs.statSync(path.join(root, 'tsconfig.json')).mtimeMs,
);
const built = fs.existsSync(entry) ? fs.statSync(entry).mtimeMs : 0;
if (built < sources) {
  process.stdout.write(built ? 'verdict: sources changed since the last build; building dist/\n' : 'verdict: building dist/ (first start)\n');
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // tsc leaves unchanged outputs untouched; mark the build as fresh.
  const now = new Date();
  fs.utimesSync(entry, now, now);
}
require(entry).main();

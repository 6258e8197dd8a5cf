// The browser snippet (sdk/verdict.js), read once and served as a static file with a content hash as
// its ETag. It is plain JavaScript, not compiled: from src/ (tsx) it sits beside this file; from
// dist/src/ (compiled) it is found by walking up to the repository's src/.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const RELATIVE = path.join('src', 'modules', 'client-keys', 'sdk', 'verdict.js');

function locate(): string {
  const beside = path.join(__dirname, 'sdk', 'verdict.js');
  if (fs.existsSync(beside)) return beside;
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, RELATIVE);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`the browser snippet ${RELATIVE} was not found above ${__dirname}`);
}

let script: { body: Buffer; etag: string } | undefined;

export function sdkScript(): { body: Buffer; etag: string } {
  if (!script) {
    const body = fs.readFileSync(locate());
    script = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
  }
  return script;
}

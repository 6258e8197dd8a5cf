// Development conveniences: when ADMIN_API_KEY or TRACKING_SECRET is unset outside production, a value
// is generated once and kept under DATA_DIR (mode 0600), so keys and signed links survive restarts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config';
import { generateApiKey } from '../modules/api-keys';

interface DevSecrets {
  adminApiKey: string;
  trackingSecret: string;
}

export interface ResolvedSecrets {
  adminApiKey: string;
  trackingSecret: string;
  generatedAdminKey: boolean;
}

export function resolveSecrets(config: Readonly<Config>): ResolvedSecrets {
  if (config.ADMIN_API_KEY && config.TRACKING_SECRET) {
    return { adminApiKey: config.ADMIN_API_KEY, trackingSecret: config.TRACKING_SECRET, generatedAdminKey: false };
  }
  const file = path.join(config.dataDir, 'dev-secrets.json');
  let stored: DevSecrets | undefined;
  try {
    stored = JSON.parse(fs.readFileSync(file, 'utf8')) as DevSecrets;
  } catch {
    stored = undefined;
  }
  if (!stored?.adminApiKey || !stored.trackingSecret) {
    stored = { adminApiKey: generateApiKey(), trackingSecret: randomBytes(32).toString('base64url') };
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return {
    adminApiKey: config.ADMIN_API_KEY ?? stored.adminApiKey,
    trackingSecret: config.TRACKING_SECRET ?? stored.trackingSecret,
    generatedAdminKey: !config.ADMIN_API_KEY,
  };
}

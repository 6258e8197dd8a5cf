// API keys are random 32-byte secrets; only their SHA-256 is stored. A high-entropy key needs no slow
// password hash, and hashing makes the lookup itself constant-time with respect to the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { NotFoundError } from '../../lib/errors';
import { changesService } from '../changes';
import { apiKeysRepository } from './api-keys.repository';
import type { Principal, Role } from '../../middleware/auth';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `vk_${randomBytes(32).toString('base64url')}`;
}

function publicView(doc: { _id: string; name: string; role: Role; prefix: string; createdAt: Date; createdBy: string; revokedAt?: Date }) {
  return { id: doc._id, name: doc.name, role: doc.role, prefix: doc.prefix, createdAt: doc.createdAt, createdBy: doc.createdBy, revokedAt: doc.revokedAt ?? null };
}

const cache = new Map<string, { principal: Principal | null; expires: number }>();

export interface ApiKeysSettings {
  /** The admin key: ADMIN_API_KEY, or the development key generated at start (see dev-secrets). */
  adminApiKey: string;
  /** How long a key check is remembered (API_KEY_CACHE_SECONDS). */
  cacheSeconds: number;
}

let settings: { adminKeyHash: Buffer; cacheMs: number } | undefined;

/** Given by the composition root (src/wiring.ts) before the first request. */
export function configureApiKeys(given: ApiKeysSettings): void {
  settings = { adminKeyHash: Buffer.from(hashApiKey(given.adminApiKey), 'hex'), cacheMs: given.cacheSeconds * 1000 };
  cache.clear();
}

function configured(): NonNullable<typeof settings> {
  if (!settings) throw new Error('api keys are not configured (configureApiKeys, called by the composition root)');
  return settings;
}

export const apiKeysService = {
  async create(input: { name: string; role: Role }, createdBy: string) {
    const key = generateApiKey();
    const doc = { _id: hashApiKey(key), name: input.name, role: input.role, prefix: key.slice(0, 7), createdAt: new Date(), createdBy };
    await apiKeysRepository.insert(doc);
    return { ...publicView(doc), key };
  },

  async list() {
    return (await apiKeysRepository.list()).map(publicView);
  },

  async revoke(id: string) {
    const doc = await apiKeysRepository.revoke(id, new Date());
    if (!doc) throw new NotFoundError('API key');
    cache.delete(id);
    await changesService.recordChange('apiKeys');
    return publicView(doc);
  },

  /** Forgets every cached key check (another instance revoked a key). */
  dropCached(): void {
    cache.clear();
  },

  async authenticate(key: string): Promise<Principal | null> {
    const { adminKeyHash, cacheMs } = configured();
    const hash = hashApiKey(key);
    const hashBuffer = Buffer.from(hash, 'hex');
    if (timingSafeEqual(hashBuffer, adminKeyHash)) return { id: 'admin', name: 'admin', role: 'admin' };
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit && hit.expires > now) return hit.principal;
    const doc = await apiKeysRepository.findById(hash);
    const principal = doc && !doc.revokedAt ? { id: doc._id, name: doc.name, role: doc.role } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { principal, expires: now + cacheMs });
    return principal;
  },
};

// Client keys: public keys for web pages and browser SDKs. A client key is not a secret (it sits in the
// page's source), so it is stored as is and shown in listings; what it may do is narrow instead: read the
// SDK payload (running page experiments) and send exposures and events for page experiments. Revoking
// one takes effect at once on this instance and within CHANGES_POLL_MS on the others.
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../../lib/errors';
import { changesService } from '../changes';
import type { ClientKeyDocument } from './client-keys.model';
import { clientKeysRepository } from './client-keys.repository';
import { CLIENT_KEY_PATTERN, type CreateClientKeyInput } from './client-keys.schemas';

export interface ResolvedClientKey {
  key: string;
  /** Empty: any origin. */
  allowedOrigins: string[];
}

export function generateClientKey(): string {
  return `vc_${randomBytes(18).toString('base64url')}`;
}

function publicView(doc: ClientKeyDocument) {
  return { id: doc._id, key: doc._id, name: doc.name, allowedOrigins: doc.allowedOrigins ?? [], createdAt: doc.createdAt, createdBy: doc.createdBy, revokedAt: doc.revokedAt ?? null };
}

const cache = new Map<string, { resolved: ResolvedClientKey | null; expires: number }>();

export interface ClientKeysSettings {
  /** How long a resolved key is remembered (API_KEY_CACHE_SECONDS). */
  cacheSeconds: number;
}

let settings: ClientKeysSettings | undefined;

/** Given by the composition root (src/wiring.ts) before the first request. */
export function configureClientKeys(given: ClientKeysSettings): void {
  settings = { ...given };
  cache.clear();
}

function configured(): ClientKeysSettings {
  if (!settings) throw new Error('client keys are not configured (configureClientKeys, called by the composition root)');
  return settings;
}

export const clientKeysService = {
  async create(input: CreateClientKeyInput, createdBy: string) {
    const doc: ClientKeyDocument = { _id: generateClientKey(), name: input.name, allowedOrigins: [...new Set(input.allowedOrigins ?? [])], createdAt: new Date(), createdBy };
    await clientKeysRepository.insert(doc);
    cache.delete(doc._id);
    return publicView(doc);
  },

  async list() {
    return (await clientKeysRepository.list()).map(publicView);
  },

  async revoke(id: string) {
    const doc = await clientKeysRepository.revoke(id, new Date());
    if (!doc) throw new NotFoundError('client key');
    cache.delete(id);
    await changesService.recordChange('apiKeys');
    return publicView(doc);
  },

  /** Forgets every cached key (another instance revoked one). */
  dropCached(): void {
    cache.clear();
  },

  /** The key if it exists and is not revoked; null otherwise (a malformed key is unknown too). */
  async resolve(key: string): Promise<ResolvedClientKey | null> {
    if (!CLIENT_KEY_PATTERN.test(key)) return null;
    const { cacheSeconds } = configured();
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.expires > now) return hit.resolved;
    const doc = await clientKeysRepository.findById(key);
    const resolved = doc && !doc.revokedAt ? { key: doc._id, allowedOrigins: doc.allowedOrigins ?? [] } : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { resolved, expires: now + cacheSeconds * 1000 });
    return resolved;
  },
};

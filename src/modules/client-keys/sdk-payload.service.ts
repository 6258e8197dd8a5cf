// The GrowthBook SDK payload (GET /api/features/:clientKey): one feature per running page experiment,
// keyed by the experiment key, whose experiment rule buckets exactly as POST /v1/assignments does
// (src/bucketing: GrowthBook hash v2, the same seed, weights, coverage and targeting condition). The
// feature's values are the variant keys; a customer outside the experiment gets the control variant
// (defaultValue). A rolled-out experiment becomes a force rule to the winner. Paused, stopped, draft and
// archived experiments are left out (an SDK answers null for them).
import { createHash } from 'node:crypto';
import { experimentsService, type ExperimentRecord } from '../experiments';
import type { FeatureDefinition, SdkPayload } from './client-keys.schemas';

/** The feature of one page experiment, or null when the SDK should not see it. */
export function featureOf(experiment: ExperimentRecord): FeatureDefinition | null {
  if (experiment.assetType !== 'page') return null;
  if (experiment.status === 'rolled_out' && experiment.rollout) {
    return { defaultValue: experiment.rollout.variant, rules: [{ id: `${experiment._id}:rollout`, force: experiment.rollout.variant }] };
  }
  if (experiment.status !== 'running') return null;
  const targeted = experiment.targeting && Object.keys(experiment.targeting).length > 0;
  return {
    defaultValue: experiment.controlVariant,
    rules: [
      {
        id: `${experiment._id}:experiment`,
        key: experiment._id,
        name: experiment.name,
        variations: experiment.variants.map((v) => v.key),
        weights: experiment.variants.map((v) => v.weight),
        coverage: experiment.coverage,
        seed: experiment.seed,
        hashVersion: 2,
        hashAttribute: 'id',
        ...(targeted ? { condition: experiment.targeting } : {}),
        meta: experiment.variants.map((v) => ({ key: v.key, ...(v.name ? { name: v.name } : {}) })),
        phase: '0',
      },
    ],
  };
}

/** Pure: the payload of these experiments, versioned by `lastUpdatedAt` (see payload()). */
export function buildPayload(experiments: ExperimentRecord[], lastUpdatedAt: Date | null): SdkPayload {
  const features: Record<string, FeatureDefinition> = {};
  for (const experiment of [...experiments].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))) {
    const feature = featureOf(experiment);
    if (feature) features[experiment._id] = feature;
  }
  return { status: 200, features, dateUpdated: (lastUpdatedAt ?? new Date(0)).toISOString() };
}

interface Built {
  payload: SdkPayload;
  /** A hash of the payload as JSON: the ETag. */
  version: string;
}

// Rebuilt when the experiments cache of this process is refilled (a change here or on another instance,
// or its TTL): its array is the trigger. The rebuild itself reads fresh, the version first: the GrowthBook
// SDK treats an unchanged dateUpdated as unchanged features, so the version must never be newer than
// the experiments it describes.
let built: { trigger: ExperimentRecord[]; result: Promise<Built> } | undefined;

async function rebuild(): Promise<Built> {
  const lastUpdatedAt = await experimentsService.lastUpdatedAt('page');
  const payload = buildPayload(await experimentsService.listCountedFresh(), lastUpdatedAt);
  const version = createHash('sha256').update(JSON.stringify(payload)).digest('base64url').slice(0, 27);
  return { payload, version };
}

export const sdkPayloadService = {
  async payload(): Promise<Built> {
    const trigger = await experimentsService.listWithAssignments();
    if (built?.trigger === trigger) return built.result;
    const result = rebuild();
    built = { trigger, result };
    // A failed read is not kept: the next request tries again.
    result.catch(() => {
      if (built?.result === result) built = undefined;
    });
    return result;
  },
};

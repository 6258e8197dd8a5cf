import { z } from 'zod';
import { documentedAs, isoDate, storableObject } from '../../lib/schemas';
import { attributes, customerId } from '../assignments';
import { experimentKey } from '../experiments';

/** `vc_` and 24 base64url characters (18 random bytes). */
export const CLIENT_KEY_PATTERN = /^vc_[A-Za-z0-9_-]{16,64}$/;

/** An origin as browsers send it in the Origin header: scheme://host[:port], nothing after. */
const origin = z
  .string()
  .max(300)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
    } catch {
      return false;
    }
  }, 'must be an origin as a browser sends it: http(s)://host[:port], lowercase, no path and no trailing slash');

export const createClientKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  allowedOrigins: z.array(origin).max(50, 'at most 50 origins').optional(),
});
export type CreateClientKeyInput = z.infer<typeof createClientKeyBody>;

export const clientKeyIdParams = z.object({ id: z.string().regex(CLIENT_KEY_PATTERN, 'must be a client key (vc_...)') });

// Public routes: the key in the path is checked by the service (a malformed key is an unknown one: 404).
export const clientKeyParams = z.object({ clientKey: z.string().max(100) });

/** The client's id of an item, the same on every retry of it (an event's id is derived from it). */
const itemId = z.string().min(1).max(100).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

export const exposureItem = z.strictObject({
  type: z.literal('exposure'),
  id: itemId.optional(),
  experiment: experimentKey,
  variant: z.string().min(1).max(64),
  customerId,
  /** The targeting attributes the page evaluated (as sent to POST /v1/assignments). */
  attributes: attributes.optional(),
});

export const eventItem = z.strictObject({
  type: z.literal('event'),
  id: itemId,
  name: z.string().trim().min(1).max(100),
  customerId,
  /** Only this page experiment; absent: every page experiment the customer is assigned to. */
  experiment: experimentKey.optional(),
  value: z.number().optional(),
  properties: storableObject().optional(),
});

export const pageItem = z.discriminatedUnion('type', [exposureItem, eventItem]);
export type ExposureItem = z.infer<typeof exposureItem>;
export type EventItem = z.infer<typeof eventItem>;

export const MAX_PAGE_ITEMS = 100;
/** Items are checked one by one (a bad one is refused alone, not the whole beacon). */
export const pageEventsBody = z.strictObject({
  items: z.array(z.unknown()).min(1).max(MAX_PAGE_ITEMS, `at most ${MAX_PAGE_ITEMS} items per call`),
});

// Answers (the API reference, src/lib/openapi.ts).

export const clientKeyView = z
  .object({
    id: z.string().meta({ description: 'the key itself: revoke by it' }),
    key: z.string().meta({ description: 'the client key (vc_…): public, for web pages and browser SDKs' }),
    name: z.string(),
    allowedOrigins: z.array(z.string()).meta({ description: 'origins whose pages may use the key; empty: any origin' }),
    createdAt: isoDate,
    createdBy: z.string(),
    revokedAt: isoDate.nullable(),
  })
  .meta({ id: 'ClientKey' });
export const clientKeyList = z.object({ clientKeys: z.array(clientKeyView) });

const featureRule = z
  .object({
    id: z.string(),
    force: z.string().optional().meta({ description: 'rolled out: every visitor gets this variant key' }),
    key: z.string().optional().meta({ description: 'the experiment key' }),
    name: z.string().optional(),
    variations: z.array(z.string()).optional().meta({ description: 'the variant keys, in the experiment\'s order' }),
    weights: z.array(z.number()).optional(),
    coverage: z.number().optional(),
    seed: z.string().optional(),
    hashVersion: z.literal(2).optional(),
    hashAttribute: z.literal('id').optional().meta({ description: 'the customer id, as the SDK attribute `id`' }),
    condition: documentedAs<Record<string, unknown>>(z.record(z.string(), z.unknown())).optional().meta({ description: 'the experiment\'s targeting, a GrowthBook condition' }),
    meta: z.array(z.object({ key: z.string(), name: z.string().optional() })).optional(),
    phase: z.string().optional(),
  })
  .meta({ id: 'SdkFeatureRule' });
export const featureDefinition = z.object({
  defaultValue: z.string().meta({ description: 'what a visitor outside the experiment sees: the control variant (rolled out: the winner)' }),
  rules: z.array(featureRule),
});
export const sdkPayload = z
  .object({
    status: z.literal(200),
    features: z.record(z.string(), featureDefinition).meta({ description: 'one per running or rolled-out page experiment, keyed by the experiment key' }),
    dateUpdated: z.string().meta({ description: 'when a page experiment last changed (ISO-8601): GrowthBook SDKs keep cached features while it is unchanged' }),
  })
  .meta({ id: 'SdkPayload' });
export type SdkPayload = z.output<typeof sdkPayload>;
export type FeatureDefinition = z.output<typeof featureDefinition>;
export type FeatureRule = z.output<typeof featureRule>;

const refusalReasons = ['invalid', 'unknown_experiment', 'not_page_experiment', 'not_running', 'unknown_variant', 'variant_mismatch'] as const;
export const itemResult = z.union([
  z.object({ status: z.literal('accepted'), variant: z.string().meta({ description: 'exposure: the variant recorded' }) }),
  z.object({ status: z.literal('accepted'), experiments: z.array(z.string()).meta({ description: 'event: the page experiments it was stored for' }) }),
  z.object({ status: z.literal('ignored'), reason: z.literal('not_assigned'), message: z.string() }),
  z.object({
    status: z.literal('refused'),
    reason: z.enum(refusalReasons),
    message: z.string(),
    variant: z.string().nullable().optional().meta({ description: 'variant_mismatch: the variant the customer has (null: none, outside the experiment)' }),
    details: z.unknown().optional(),
  }),
]);
export type ItemResult = z.output<typeof itemResult>;
export const pageEventsAnswer = z
  .object({
    results: z.array(itemResult).meta({ description: 'per item, in the order sent' }),
    exposures: z.object({ accepted: z.number().int(), refused: z.number().int() }),
    events: z
      .object({ accepted: z.number().int(), duplicates: z.number().int(), ignored: z.number().int(), refused: z.number().int() })
      .meta({ description: 'events as stored (one per item and page experiment); duplicates: stored before (a retried beacon)' }),
  })
  .meta({ id: 'PageEventsOutcome' });
export type PageEventsOutcome = z.output<typeof pageEventsAnswer>;

import { z } from 'zod';
import { storableObject } from '../../lib/schemas';
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
  value: z.number().finite().optional(),
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

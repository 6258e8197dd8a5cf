import { z } from 'zod';
import { isoDurationToMs } from '../../lib/duration';
import { storableObject } from '../../lib/schemas';
import { customerId } from '../assignments';
import { experimentKey } from '../experiments';

export const campaignKey = z.string().regex(/^[a-z0-9][a-z0-9_-]{1,63}$/, 'must be a slug: lowercase letters, digits, - and _, 2 to 64 characters');

/** Milliseconds of an ISO-8601 duration (weeks, days, hours, minutes, seconds), or null. */
export const parseDuration = isoDurationToMs;

const emailAddress = z.email({ message: 'must be an email address' }).max(254);

/** "addr@example.com" or "Display Name <addr@example.com>" (no line breaks: it becomes a header). */
const mailbox = z
  .string()
  .trim()
  .max(320)
  .refine((value) => {
    if (/[\r\n]/.test(value)) return false;
    const named = /^([^<>"]{0,64}|"[^"]{0,64}")\s*<([^<>\s]+)>$/.exec(value);
    return emailAddress.safeParse(named ? named[2] : value).success;
  }, 'must be an email address, optionally as "Name <address>"');

export const winnerPolicy = z.strictObject({
  after: z.string().refine((value) => parseDuration(value) !== null, 'must be a positive ISO-8601 duration such as PT4H or P1D (weeks, days, hours, minutes, seconds)'),
  metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric key').optional(),
  onInconclusive: z.enum(['send_control', 'send_best', 'hold']),
});

export const createCampaignBody = z.strictObject({
  key: campaignKey,
  experiment: experimentKey,
  from: mailbox,
  replyTo: mailbox.optional(),
  testFraction: z.number().gt(0, 'must be greater than 0').max(1).default(0.2),
  winnerPolicy,
  autoSendWinner: z.boolean().default(false),
});
export type CreateCampaignInput = z.infer<typeof createCampaignBody>;

export const campaignKeyParams = z.object({ key: campaignKey });

export const listCampaignsQuery = z.strictObject({
  experiment: experimentKey.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const sendWinnerBody = z.strictObject({ variant: z.string().min(1).max(64).optional() }).default({});

export const outboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export const recipientsQuery = z.strictObject({
  format: z.enum(['csv', 'json']).optional(),
  group: z.enum(['test', 'winner', 'all']).default('test'),
});

/** One audience row, from JSON or from a CSV line (where every value is a string). */
export const recipientRow = z.strictObject({
  customerId,
  email: emailAddress,
  name: z.string().trim().max(200).optional(),
  locale: z.string().trim().regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'must be a locale such as en or fa-IR').optional(),
  attributes: storableObject(64).refine((value) => Object.keys(value).length <= 100, 'at most 100 attributes').optional(),
});
export type RecipientRow = z.infer<typeof recipientRow>;

export const MAX_AUDIENCE = 1_000_000;

import { z } from 'zod';
import { isoDurationToMs } from '../../lib/duration';
import { isoDate, storableObject } from '../../lib/schemas';
import { customerId } from '../assignments';
import { experimentKey } from '../experiments';

export const campaignKey = z.string().regex(/^[a-z0-9][a-z0-9_-]{1,63}$/, 'must be a slug: lowercase letters, digits, - and _, 2 to 64 characters');

/** Milliseconds of an ISO-8601 duration (weeks, days, hours, minutes, seconds), or null. */
export const parseDuration = isoDurationToMs;

const emailAddress = z.email({ error: 'must be an email address' }).max(254);

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

/** An SMS sender id: up to 11 letters and digits (alphanumeric), or an E.164 number. */
export const smsSender = z
  .string()
  .refine((value) => /^[A-Za-z0-9]{1,11}$/.test(value) || /^\+[1-9]\d{7,14}$/.test(value), 'must be a sender id: up to 11 letters and digits, or an E.164 number such as +989121234567');

/** Email campaigns send from a mailbox, SMS campaigns from a sender id: which one is checked against the experiment. */
const campaignFrom = z
  .string()
  .trim()
  .max(320)
  .refine((value) => mailbox.safeParse(value).success || smsSender.safeParse(value).success, 'must be an email address, optionally as "Name <address>" (email), or a sender id of up to 11 letters and digits or an E.164 number (SMS)')
  .meta({ description: 'email: the From mailbox; sms: the sender id (up to 11 letters and digits, or an E.164 number)' });

export { mailbox as campaignMailbox };

export const winnerPolicy = z.strictObject({
  after: z.string().refine((value) => parseDuration(value) !== null, 'must be a positive ISO-8601 duration such as PT4H or P1D (weeks, days, hours, minutes, seconds)'),
  metric: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a metric key').optional(),
  onInconclusive: z.enum(['send_control', 'send_best', 'hold']),
});

export const createCampaignBody = z.strictObject({
  key: campaignKey,
  experiment: experimentKey,
  from: campaignFrom,
  replyTo: mailbox.optional(),
  testFraction: z.number().gt(0, 'must be greater than 0').max(1).default(0.2),
  holdoutFraction: z.number().min(0).lt(1, 'must be below 1: a holdout of everyone sends nothing').default(0).meta({
    description: 'share of the audience held out: assigned to the no-send arm "holdout" (sent nothing, not in the test or the winner send, still measured); the test group is testFraction of the rest',
  }),
  winnerPolicy,
  autoSendWinner: z.boolean().default(false),
});
export type CreateCampaignInput = Omit<z.infer<typeof createCampaignBody>, 'holdoutFraction'> & { holdoutFraction?: number };

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

/** E.164: a + and 8 to 15 digits, the first not 0 (no spaces, dashes or national forms). */
export const e164Phone = z.string().regex(/^\+[1-9]\d{7,14}$/, 'must be a phone number in E.164 form, such as +989121234567');

/** One row of an SMS campaign's audience: a phone number instead of an email address. */
export const smsRecipientRow = recipientRow.omit({ email: true }).extend({ phone: e164Phone });

/** An audience row of either kind. */
export type AudienceRow = Omit<RecipientRow, 'email'> & { email?: string; phone?: string };

export const MAX_AUDIENCE = 1_000_000;

// Answers (the API reference, src/lib/openapi.ts).

export const CAMPAIGN_PHASES = ['draft', 'audience_ready', 'testing', 'waiting_for_winner', 'sending_winner', 'completed', 'held'] as const;
export const MESSAGE_PHASES = ['test', 'winner', 'export'] as const;

const countFields = {
  queued: z.number().int(),
  sent: z.number().int(),
  failed: z.number().int(),
  bounced: z.number().int(),
  suppressed: z.number().int(),
  opened: z.number().int(),
  clicked: z.number().int(),
  answered: z.number().int(),
  unsubscribed: z.number().int(),
};

// SMS campaigns only: delivery receipts (UNDELIV and REJECTD receipts count as failed).
const smsReceiptFields = {
  delivered: z.number().int().optional().meta({ description: 'SMS: delivery receipts saying DELIVRD' }),
  expired: z.number().int().optional().meta({ description: 'SMS: delivery receipts saying EXPIRED' }),
};

export const campaignView = z
  .object({
    key: z.string(),
    experiment: z.string(),
    channel: z.enum(['email', 'sms']).meta({ description: 'from the experiment: email, or sms (from is then the sender id, and recipients have phones)' }),
    from: z.string(),
    replyTo: z.string().optional(),
    testFraction: z.number(),
    holdoutFraction: z.number(),
    winnerPolicy: z.object({ after: z.string(), metric: z.string().optional(), onInconclusive: winnerPolicy.shape.onInconclusive }),
    autoSendWinner: z.boolean(),
    audience: z
      .object({ upload: z.string(), accepted: z.number().int(), merged: z.number().int(), suppressed: z.number().int(), testGroup: z.number().int(), holdout: z.number().int().optional(), uploadedAt: isoDate })
      .optional()
      .meta({ description: 'the current audience (absent before an upload)' }),
    test: z
      .object({
        requestedAt: isoDate,
        winnerDueAt: isoDate.meta({ description: 'winnerPolicy.after past the latest variant send time (sendAt, sendDelay)' }),
        enqueuedAt: isoDate.optional(),
        queued: z.number().int().optional(),
        skipped: z.number().int().optional(),
        heldOut: z.number().int().optional().meta({ description: 'with a holdout: its members assigned to the no-send arm' }),
      })
      .optional()
      .meta({ description: 'the test send, once asked for' }),
    decision: z
      .object({
        at: isoDate,
        by: z.enum(['manual', 'auto']),
        actor: z.string(),
        metric: z.string(),
        rule: z.enum(['manual', 'ship', 'send_control', 'send_best', 'hold']),
        variant: z.string().optional(),
        resultsVerdict: z.string().optional(),
        reasons: z.array(z.string()),
      })
      .optional()
      .meta({ description: 'which variant goes to the rest, and why' }),
    winner: z
      .object({ requestedAt: isoDate, variant: z.string(), enqueuedAt: isoDate.optional(), queued: z.number().int().optional(), skipped: z.number().int().optional() })
      .optional()
      .meta({ description: 'the winner send, once asked for' }),
    createdAt: isoDate,
    updatedAt: isoDate,
    phase: z.enum(CAMPAIGN_PHASES),
    counts: z.object({
      total: z.object({ audience: z.number().int(), testGroup: z.number().int(), ...countFields, ...smsReceiptFields }),
      variants: z.array(
        z.object({
          variant: z.string(),
          assigned: z.number().int(),
          testGroup: z.number().int(),
          winnerGroup: z.number().int(),
          ...countFields,
          ...smsReceiptFields,
          sms: z
            .object({ encoding: z.enum(['GSM-7', 'UCS-2']), units: z.number().int(), segments: z.number().int() })
            .optional()
            .meta({ description: 'SMS: encoding and segments of the message as sent (text with the short link and the opt-out line; template fields as written)' }),
        }),
      ),
      holdout: z
        .object({ recipients: z.number().int(), assigned: z.number().int(), opened: z.number().int(), clicked: z.number().int(), answered: z.number().int(), unsubscribed: z.number().int() })
        .optional()
        .meta({ description: 'with a holdout: the audience held out, the experiment\'s customers in the no-send arm, and what they did without a message' }),
    }),
    history: z.array(z.object({ at: isoDate, action: z.string(), actor: z.string(), details: z.record(z.string(), z.unknown()).optional() })),
  })
  .meta({ id: 'Campaign' });

export const campaignList = z.object({ campaigns: z.array(campaignView), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const outboxPage = z.object({
  messages: z.array(
    z.object({
      to: z.string().nullable(),
      subject: z.string().nullable(),
      variant: z.string(),
      phase: z.enum(MESSAGE_PHASES),
      file: z.string().optional().meta({ description: 'the .eml file, under DATA_DIR/outbox/<campaign>/' }),
      sentAt: isoDate,
    }),
  ),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const audienceUpload = z.object({
  accepted: z.number().int(),
  merged: z.number().int().meta({ description: 'rows merged into an earlier one (the same customerId or email)' }),
  suppressed: z.number().int().meta({ description: 'rows left out: unsubscribed before' }),
  testGroup: z.number().int(),
  holdout: z.number().int().optional().meta({ description: 'with a holdoutFraction: recipients held out (sent nothing)' }),
  invalid: z.array(z.object({ row: z.number().int(), line: z.number().int().optional(), field: z.string(), message: z.string() })).meta({ description: 'empty: an upload with an invalid row is refused (400)' }),
});

/** One recipient of an export: the variant, subject and signed links an outside sender puts in the message. */
export const exportedRecipient = z
  .object({
    customerId: z.string(),
    email: z.string(),
    group: z.enum(['test', 'winner']),
    variant: z.string(),
    subject: z.string(),
    messageId: z.string(),
    openPixelUrl: z.string(),
    clicks: z.array(z.object({ url: z.string(), tracked: z.string() })),
    survey: z.array(z.object({ metric: z.string(), score: z.number().int(), url: z.string() })),
    unsubscribeUrl: z.string(),
    listUnsubscribe: z.string().optional().meta({ description: 'the List-Unsubscribe header value' }),
  })
  .meta({ id: 'ExportedRecipient' });

export const recipientsExport = z.object({
  recipients: z.array(exportedRecipient),
  count: z.number().int(),
  exported: z.number().int().optional().meta({ description: 'GET: how many recipients have been exported so far' }),
  note: z.string().optional().meta({ description: 'GET: said when nothing has been exported yet' }),
});

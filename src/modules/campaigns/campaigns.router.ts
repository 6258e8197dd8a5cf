import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { formulaSafe } from '../../lib/csv';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { authenticate } from '../api-keys';
import {
  audienceUpload,
  campaignKeyParams,
  campaignList,
  campaignView,
  createCampaignBody,
  exportedRecipient,
  listCampaignsQuery,
  MAX_AUDIENCE,
  outboxPage,
  outboxQuery,
  recipientRow,
  recipientsExport,
  recipientsQuery,
  sendWinnerBody,
} from './campaigns.schemas';
import { campaignsService } from './campaigns.service';
import { exportService, type ExportedRecipient } from './export.service';

export const campaignsRouter = Router();
const route = documented(campaignsRouter, { prefix: '/v1', tag: 'Campaigns' });

const notFound = '`not_found`: no such campaign.';

route.post(
  '/campaigns',
  {
    access: can.edit,
    summary: 'Create an email campaign over an email experiment',
    body: createCampaignBody,
    responses: { 201: { description: 'the campaign, in draft', json: campaignView } },
    errors: {
      400: '`bad_request`: the experiment is not an email experiment, or winnerPolicy.metric is not one of its metrics.',
      404: '`not_found`: no such experiment.',
      409: '`conflict`: a campaign with this key exists.',
    },
  },
  ({ body }, req) => campaignsService.create(body, req.principal!.name),
);
route.get(
  '/campaigns',
  { access: can.read, summary: 'List campaigns', query: listCampaignsQuery, responses: { 200: { description: 'a page of campaigns and how many match', json: campaignList } } },
  ({ query }) => campaignsService.list(query),
);
route.get(
  '/campaigns/:key',
  { access: can.read, summary: 'A campaign: phase, counts per variant, decision', params: campaignKeyParams, responses: { 200: { description: 'the campaign', json: campaignView } }, errors: { 404: notFound } },
  ({ params }) => campaignsService.get(params.key),
);
route.post(
  '/campaigns/:key/send-test',
  {
    access: can.edit,
    summary: 'Send the variants to the test group',
    description: 'The same customers on every re-run; nobody gets a message twice.',
    params: campaignKeyParams,
    responses: { 202: { description: 'queued: the campaign', json: campaignView } },
    errors: { 404: notFound, 409: '`conflict`: the campaign has no audience, or its experiment is not running.' },
  },
  async ({ params }, req) => new Reply(202, await campaignsService.sendTest(params.key, req.principal!.name)),
);
route.post(
  '/campaigns/:key/send-winner',
  {
    access: can.edit,
    summary: 'Send the winner to the rest of the audience',
    description: 'Decides by the winner policy unless a variant is named; repeated calls change nothing.',
    params: campaignKeyParams,
    body: sendWinnerBody,
    responses: { 202: { description: 'queued: the campaign', json: campaignView } },
    errors: {
      400: '`bad_request`: the variant is not one of the experiment.',
      404: notFound,
      409: '`conflict`: the test has not been sent, the policy holds an inconclusive test (`details.decision`: name a variant), or another variant is already being sent.',
    },
  },
  async ({ params, body }, req) => new Reply(202, await campaignsService.sendWinner(params.key, body.variant, req.principal!.name)),
);
route.get(
  '/campaigns/:key/outbox',
  {
    access: can.read,
    summary: 'The development outbox',
    description: 'With SMTP_URL unset, messages are written as .eml files instead of being sent: these.',
    params: campaignKeyParams,
    query: outboxQuery,
    responses: { 200: { description: 'a page of written messages', json: outboxPage } },
    errors: { 404: notFound },
  },
  ({ params, query }) => campaignsService.outbox(params.key, query.limit, query.offset),
);

const CSV_COLUMNS = ['customerId', 'email', 'group', 'variant', 'subject', 'messageId', 'openPixelUrl', 'clickLinks', 'surveyLinks', 'unsubscribeUrl'] as const;

function csvField(value: string): string {
  // Quoted always; a leading formula character is neutralised so spreadsheets do not evaluate it.
  return `"${formulaSafe(value).replace(/"/g, '""')}"`;
}

type RecipientRows = AsyncGenerator<ExportedRecipient>;

/** CSV when asked by ?format=csv or an Accept header preferring text/csv; JSON otherwise. */
function formatOf(req: Request, requested: 'csv' | 'json' | undefined): 'csv' | 'json' {
  return requested ?? (req.accepts(['application/json', 'text/csv']) === 'text/csv' ? 'csv' : 'json');
}

/** Streams recipient rows as CSV or JSON; `extra` goes into the JSON answer and, as headers, beside the CSV. */
async function streamRecipients(res: Response, key: string, format: 'csv' | 'json', rows: RecipientRows, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  // The first row is awaited before any header goes out, so a 404 or 409 is still a proper error.
  const first = await rows.next();
  res.status(200).set({ 'Cache-Control': 'no-store', ...headers });
  if (format === 'csv') {
    res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="${key}-recipients.csv"`);
    res.write(`${CSV_COLUMNS.join(',')}\n`);
  } else {
    res.type('application/json').write('{"recipients":[');
  }
  let count = 0;
  for (let item = first; !item.done; item = await rows.next()) {
    const row = item.value;
    row satisfies z.output<typeof exportedRecipient>; // the documented row (the compiler checks it)
    if (format === 'csv') {
      const cells = [row.customerId, row.email, row.group, row.variant, row.subject, row.messageId, row.openPixelUrl, row.clicks.map((c) => `${c.url} ${c.tracked}`).join('\n'), row.survey.map((s) => `${s.score} ${s.url}`).join('\n'), row.unsubscribeUrl];
      res.write(`${cells.map(csvField).join(',')}\n`);
    } else {
      res.write(`${count > 0 ? ',' : ''}${JSON.stringify(row)}`);
    }
    count++;
  }
  if (format === 'json') res.write(`],"count":${count}${Object.entries(extra).map(([name, value]) => `,${JSON.stringify(name)}:${JSON.stringify(value)}`).join('')}}`);
  res.end();
}

const RECIPIENTS_CONTENT = { 'text/csv': { type: 'string' as const, description: `columns: ${CSV_COLUMNS.join(', ')}` } };
const recipientsErrors = { 404: notFound };

/**
 * POST (editors) exports the recipients: it assigns the test group and creates the message records the
 * signed links point to, then streams the rows (see exportService.exportRecipients).
 */
route.post(
  '/campaigns/:key/recipients',
  {
    access: can.edit,
    summary: 'Export the recipients with their signed links',
    description: 'For sending through your own platform: assigns the test group (as send-test would, without sending) and gives each recipient its variant, subject and signed links. JSON, or CSV with `Accept: text/csv` or `?format=csv`. Exporting again gives the same rows.',
    params: campaignKeyParams,
    query: recipientsQuery,
    responses: { 200: { description: 'the recipients of the group', json: recipientsExport, content: RECIPIENTS_CONTENT } },
    errors: { ...recipientsErrors, 409: '`conflict`: the campaign has no audience, its experiment is not running (test group), or it has no winner yet (winner group).' },
  },
  async ({ params, query }, req, res) => {
    await streamRecipients(res, params.key, formatOf(req, query.format), exportService.exportRecipients(params.key, query.group));
  },
);

/**
 * GET (viewers) only reads: the recipients an export already created messages for, never assigning or
 * creating anything. X-Verdict-Exported (and "exported" in JSON) says how many exist, 0 before any export.
 */
async function readRecipients(req: Request, res: Response, key: string, query: z.output<typeof recipientsQuery>, format?: 'csv') {
  const exported = await exportService.countExported(key);
  const note = exported === 0 ? `nothing has been exported yet: an editor exports with POST /v1/campaigns/${key}/recipients` : undefined;
  const headers: Record<string, string> = { 'X-Verdict-Exported': String(exported) };
  if (note) headers['X-Verdict-Note'] = note;
  await streamRecipients(res, key, format ?? formatOf(req, query.format), exportService.readExportedRecipients(key, query.group), headers, { exported, ...(note ? { note } : {}) });
}
const READ_HEADERS = { 'X-Verdict-Exported': 'how many recipients have been exported so far (0: none yet)', 'X-Verdict-Note': 'said when nothing has been exported yet' };
const readDescription = 'Reads only: the recipients an export already made messages for; never assigns or creates anything.';
route.get(
  '/campaigns/:key/recipients.csv',
  {
    access: can.read,
    summary: 'The recipients exported so far, as CSV',
    description: readDescription,
    params: campaignKeyParams,
    query: recipientsQuery,
    responses: { 200: { description: 'the exported recipients of the group', content: RECIPIENTS_CONTENT, headers: READ_HEADERS } },
    errors: recipientsErrors,
  },
  ({ params, query }, req, res) => readRecipients(req, res, params.key, query, 'csv'),
);
route.get(
  '/campaigns/:key/recipients',
  {
    access: can.read,
    summary: 'The recipients exported so far',
    description: `${readDescription} JSON, or CSV with \`Accept: text/csv\` or \`?format=csv\`.`,
    params: campaignKeyParams,
    query: recipientsQuery,
    responses: { 200: { description: 'the exported recipients of the group', json: recipientsExport, content: RECIPIENTS_CONTENT, headers: READ_HEADERS } },
    errors: recipientsErrors,
  },
  ({ params, query }, req, res) => readRecipients(req, res, params.key, query),
);

/**
 * The audience upload reads the raw request stream (CSV or JSON, up to 1,000,000 rows), so it is mounted
 * before the application's JSON body parser and its size limit; it authenticates on its own.
 *
 * An upload rejected part way (a bad header, a body that is not an array, a malformed line) leaves the
 * rest of its body unread, and piped once, Node no longer discards it by itself: the connection would
 * stall and the next request on it never be answered. So whatever the outcome, what is left of the body
 * is read and thrown away (as Node does for a body never touched), and the connection stays usable;
 * closing it instead could reset the client before it read the answer.
 */
export const campaignAudienceRouter = Router();
documented(campaignAudienceRouter, { prefix: '/v1', tag: 'Campaigns' }).raw(
  'post',
  '/campaigns/:key/audience',
  {
    access: can.edit,
    before: [authenticate],
    summary: 'Upload the audience (JSON or CSV, streamed)',
    description: `Up to ${MAX_AUDIENCE.toLocaleString('en')} recipients, validated row by row; an upload with any invalid row stores nothing. Replaces the previous audience until the test is sent.`,
    params: campaignKeyParams,
    requestContent: {
      'application/json': z.array(recipientRow).max(MAX_AUDIENCE),
      'text/csv': { type: 'string', description: 'a header row (customerId, email, name, locale; any other column becomes an attribute), then one recipient a line' },
    },
    bodyLimit: false,
    responses: { 200: { description: 'the audience, stored', json: audienceUpload } },
    errors: {
      400: '`validation_failed`: the key is invalid; `bad_request`: invalid rows (`details.invalid`, the first 100), malformed JSON or CSV, a column that cannot be an attribute name, an empty or too large audience.',
      404: notFound,
      409: '`conflict`: the test has been sent, so the audience can no longer change.',
      415: '`unsupported_media_type`: neither application/json nor text/csv.',
    },
  },
  async (req, res) => {
    try {
      const { key } = campaignKeyParams.parse(req.params);
      const result = await campaignsService.uploadAudience(key, req.headers['content-type'] ?? '', req, req.principal!.name);
      res.status(200).json(result satisfies z.output<typeof audienceUpload>);
    } finally {
      discardUnreadBody(req);
    }
  },
);

function discardUnreadBody(req: Request): void {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  req.removeAllListeners('data');
  req.resume();
}

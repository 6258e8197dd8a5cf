import { Router, type Request, type Response } from 'express';
import { handle, Reply } from '../../lib/handler';
import { authenticate, can } from '../../middleware/auth';
import { campaignKeyParams, createCampaignBody, listCampaignsQuery, outboxQuery, recipientsQuery, sendWinnerBody } from './campaigns.schemas';
import { campaignsService } from './campaigns.service';
import { exportService, type ExportedRecipient } from './export.service';

export const campaignsRouter = Router();

campaignsRouter.post('/campaigns', can.edit, handle({ body: createCampaignBody }, ({ body }, req) => campaignsService.create(body, req.principal!.name), { status: 201 }));
campaignsRouter.get('/campaigns', can.read, handle({ query: listCampaignsQuery }, ({ query }) => campaignsService.list(query)));
campaignsRouter.get('/campaigns/:key', can.read, handle({ params: campaignKeyParams }, ({ params }) => campaignsService.get(params.key)));
campaignsRouter.post(
  '/campaigns/:key/send-test',
  can.edit,
  handle({ params: campaignKeyParams }, async ({ params }, req) => new Reply(202, await campaignsService.sendTest(params.key, req.principal!.name))),
);
campaignsRouter.post(
  '/campaigns/:key/send-winner',
  can.edit,
  handle({ params: campaignKeyParams, body: sendWinnerBody }, async ({ params, body }, req) => new Reply(202, await campaignsService.sendWinner(params.key, body.variant, req.principal!.name))),
);
campaignsRouter.get(
  '/campaigns/:key/outbox',
  can.read,
  handle({ params: campaignKeyParams, query: outboxQuery }, ({ params, query }) => campaignsService.outbox(params.key, query.limit, query.offset)),
);

const CSV_COLUMNS = ['customerId', 'email', 'group', 'variant', 'subject', 'messageId', 'openPixelUrl', 'clickLinks', 'surveyLinks', 'unsubscribeUrl'] as const;

function csvField(value: string): string {
  // Quoted always; a leading formula character is neutralised so spreadsheets do not evaluate it.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
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

/**
 * POST (editors) exports the recipients: it assigns the test group and creates the message records the
 * signed links point to, then streams the rows (see exportService.exportRecipients).
 */
campaignsRouter.post('/campaigns/:key/recipients', can.edit, async (req, res) => {
  const { key } = campaignKeyParams.parse(req.params);
  const query = recipientsQuery.parse(req.query ?? {});
  await streamRecipients(res, key, formatOf(req, query.format), exportService.exportRecipients(key, query.group));
});

/**
 * GET (viewers) only reads: the recipients an export already created messages for, never assigning or
 * creating anything. X-Verdict-Exported (and "exported" in JSON) says how many exist, 0 before any export.
 */
async function readRecipients(req: Request, res: Response, format?: 'csv') {
  const { key } = campaignKeyParams.parse(req.params);
  const query = recipientsQuery.parse(req.query ?? {});
  const exported = await exportService.countExported(key);
  const note = exported === 0 ? `nothing has been exported yet: an editor exports with POST /v1/campaigns/${key}/recipients` : undefined;
  const headers: Record<string, string> = { 'X-Verdict-Exported': String(exported) };
  if (note) headers['X-Verdict-Note'] = note;
  await streamRecipients(res, key, format ?? formatOf(req, query.format), exportService.readExportedRecipients(key, query.group), headers, { exported, ...(note ? { note } : {}) });
}
campaignsRouter.get('/campaigns/:key/recipients.csv', can.read, (req, res) => readRecipients(req, res, 'csv'));
campaignsRouter.get('/campaigns/:key/recipients', can.read, (req, res) => readRecipients(req, res));

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
campaignAudienceRouter.post('/campaigns/:key/audience', authenticate, can.edit, async (req, res) => {
  try {
    const { key } = campaignKeyParams.parse(req.params);
    const result = await campaignsService.uploadAudience(key, req.headers['content-type'] ?? '', req, req.principal!.name);
    res.status(200).json(result);
  } finally {
    discardUnreadBody(req);
  }
});

function discardUnreadBody(req: Request): void {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  req.removeAllListeners('data');
  req.resume();
}

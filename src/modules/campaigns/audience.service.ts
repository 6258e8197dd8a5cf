// Audience uploads, streamed: rows are validated one by one and staged in chunks under a fresh upload
// id; only when the whole upload validated does the campaign point at it. A rejected upload's staged
// rows are deleted, and never visible meanwhile. Duplicates merge (first row wins): within a chunk in
// memory, across chunks through the unique _id (upload, customer) and the unique (upload, email) index.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import type { Duplex } from 'node:stream';
import { gbHash } from '../../bucketing';
import { AppError, BadRequestError } from '../../lib/errors';
import { unstorableKey } from '../../lib/schemas';
import { suppressionService } from '../tracking';
import type { CampaignRecord, RecipientRecord } from './campaigns.model';
import { MAX_AUDIENCE, recipientRow, smsRecipientRow, type AudienceRow } from './campaigns.schemas';
import { campaignsRepository } from './campaigns.repository';

// stream-json is an ES module whose exports map the classic resolver cannot read: loaded with require().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { streamArray } = require('stream-json/streamers/stream-array.js') as { streamArray: { withParserAsStream(): Duplex } };

const CHUNK = 1000;
const MAX_REPORTED_INVALID = 100;
const KNOWN_COLUMNS = new Set(['customerId', 'email', 'phone', 'name', 'locale']);

export interface InvalidRow {
  /** Position of the row among the data rows, from 1. */
  row: number;
  /** CSV: the line in the file (the header is line 1). */
  line?: number;
  field: string;
  message: string;
}

export interface UploadResult {
  accepted: number;
  merged: number;
  suppressed: number;
  testGroup: number;
  /** With a holdoutFraction: recipients held out (sent nothing, still measured). */
  holdout?: number;
  invalid: InvalidRow[];
}

export type StagedUpload = UploadResult & { upload: string };

/** Whether a customer is in the campaign's test group: deterministic, so a re-run picks the same people. */
export function inTestGroup(campaign: Pick<CampaignRecord, '_id' | 'testFraction'>, customerId: string): boolean {
  return gbHash(`verdict-campaign:${campaign._id}:test`, customerId, 2) < campaign.testFraction;
}

/**
 * Whether a customer is in the campaign's holdout: deterministic as the test group, from a hash of its
 * own (independent of the test group's and of the experiment's variant hash, so the variants' split is
 * the same inside and outside the holdout). Holdout members are never in the test group.
 */
export function inHoldout(campaign: Pick<CampaignRecord, '_id' | 'holdoutFraction'>, customerId: string): boolean {
  return (campaign.holdoutFraction ?? 0) > 0 && gbHash(`verdict-campaign:${campaign._id}:holdout`, customerId, 2) < campaign.holdoutFraction!;
}

/** What makes two rows the same recipient besides the customer id: the address, lowercased, or the phone number. */
function dedupeKey(row: AudienceRow): string {
  return row.phone !== undefined ? `phone:${row.phone}` : (row.email ?? '').toLowerCase();
}

interface RawRow {
  row: number;
  line?: number;
  value: unknown;
}

/**
 * The header row. A column that is not a known field becomes an attribute key, so it must be a key the
 * database can store: a header such as "plan.tier" or "$plan" rejects the upload before any row is read.
 */
function csvColumns(header: string[]): string[] {
  header.forEach((column, i) => {
    if (column === '' || KNOWN_COLUMNS.has(column)) return;
    const problem = unstorableKey(column);
    if (problem) throw new BadRequestError(`body: CSV column ${i + 1} "${column}" cannot be an attribute name: ${problem}`, { line: 1, column });
  });
  return header;
}

async function* csvRows(body: Readable): AsyncGenerator<RawRow> {
  const parser = body.pipe(parseCsv({ columns: csvColumns, bom: true, trim: true, skip_empty_lines: true, info: true, relax_column_count: false }));
  let row = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      row++;
      const value: Record<string, unknown> = {};
      const attributes: Record<string, string> = {};
      for (const [column, cell] of Object.entries(item.record)) {
        if (KNOWN_COLUMNS.has(column)) {
          if (cell !== '') value[column] = cell;
        } else if (cell !== '' && column !== '') {
          attributes[column] = cell;
        }
      }
      if (Object.keys(attributes).length > 0) value.attributes = attributes;
      yield { row, line: item.info.lines, value };
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    const lines = (error as { lines?: number }).lines;
    throw new BadRequestError(`body: malformed CSV${lines ? ` at line ${lines}` : ''}: ${(error as Error).message}`, lines ? { line: lines } : undefined);
  }
}

async function* jsonRows(body: Readable): AsyncGenerator<RawRow> {
  const items = body.pipe(streamArray.withParserAsStream());
  body.on('error', (error) => items.destroy(error));
  try {
    for await (const item of items as AsyncIterable<{ key: number; value: unknown }>) yield { row: item.key + 1, value: item.value };
  } catch (error) {
    throw new BadRequestError(`body: must be a JSON array of recipients (${(error as Error).message})`);
  }
}

export const audienceService = {
  async upload(campaign: CampaignRecord, contentType: string, body: Readable): Promise<StagedUpload> {
    const rows = /^text\/csv\b/i.test(contentType) ? csvRows(body) : /^application\/json\b/i.test(contentType) ? jsonRows(body) : null;
    if (!rows) throw new AppError(415, 'unsupported_media_type', 'audience must be sent as application/json (an array of recipients) or text/csv (with a header row)');

    const upload = randomUUID();
    const result: UploadResult = { accepted: 0, merged: 0, suppressed: 0, testGroup: 0, ...(campaign.holdoutFraction ? { holdout: 0 } : {}), invalid: [] };
    let invalidCount = 0;
    let total = 0;
    let chunk: AudienceRow[] = [];

    const flush = async () => {
      const batch = chunk;
      chunk = [];
      if (batch.length === 0 || invalidCount > 0) return;
      const seenCustomers = new Set<string>();
      const seenEmails = new Set<string>();
      const unique: AudienceRow[] = [];
      for (const row of batch) {
        // SMS audiences merge by phone number as email audiences merge by address.
        const emailKey = dedupeKey(row);
        if (seenCustomers.has(row.customerId) || seenEmails.has(emailKey)) {
          result.merged++;
          continue;
        }
        seenCustomers.add(row.customerId);
        seenEmails.add(emailKey);
        unique.push(row);
      }
      const suppressed = await Promise.all(unique.map((row) => suppressionService.isSuppressed({ customerId: row.customerId, email: row.email, phone: row.phone })));
      const records: RecipientRecord[] = [];
      unique.forEach((row, i) => {
        if (suppressed[i]) {
          result.suppressed++;
          return;
        }
        records.push({
          _id: `${upload}:${row.customerId}`,
          campaign: campaign._id,
          upload,
          customerId: row.customerId,
          ...(row.email !== undefined ? { email: row.email } : {}),
          ...(row.phone !== undefined ? { phone: row.phone } : {}),
          emailKey: dedupeKey(row),
          ...(row.name !== undefined ? { name: row.name } : {}),
          ...(row.locale !== undefined ? { locale: row.locale } : {}),
          ...(row.attributes !== undefined ? { attributes: row.attributes } : {}),
          ...(inHoldout(campaign, row.customerId) ? { test: false, holdout: true } : { test: inTestGroup(campaign, row.customerId) }),
        });
      });
      const duplicates = await campaignsRepository.insertRecipients(records);
      for (const record of records) {
        if (duplicates.has(record._id)) {
          result.merged++;
        } else {
          result.accepted++;
          if (record.test) result.testGroup++;
          if (record.holdout) result.holdout!++;
        }
      }
    };

    try {
      for await (const raw of rows) {
        total++;
        if (total > MAX_AUDIENCE) throw new BadRequestError(`body: an audience has at most ${MAX_AUDIENCE.toLocaleString('en')} recipients`);
        const parsed = (campaign.channel === 'sms' ? smsRecipientRow : recipientRow).safeParse(raw.value);
        if (!parsed.success) {
          invalidCount++;
          if (result.invalid.length < MAX_REPORTED_INVALID) {
            const issue = parsed.error.issues[0];
            result.invalid.push({ row: raw.row, ...(raw.line !== undefined ? { line: raw.line } : {}), field: issue.path.join('.') || 'row', message: issue.message });
          }
          continue;
        }
        // After the first invalid row nothing more is staged: the upload will be rejected anyway.
        if (invalidCount > 0) continue;
        chunk.push(parsed.data);
        if (chunk.length >= CHUNK) await flush();
      }
      await flush();
      if (invalidCount > 0) {
        const first = result.invalid[0];
        throw new BadRequestError(
          `${invalidCount} invalid row${invalidCount === 1 ? '' : 's'}; nothing was stored (first: ${first.line !== undefined ? `line ${first.line}` : `row ${first.row}`}, ${first.field}: ${first.message})`,
          { invalidCount, invalid: result.invalid },
        );
      }
      if (total === 0) throw new BadRequestError('body: the audience is empty');
    } catch (error) {
      await campaignsRepository.deleteUpload(upload);
      throw error;
    }
    return { ...result, upload };
  },
};

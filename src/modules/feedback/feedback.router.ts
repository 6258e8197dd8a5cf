import express, { Router, type Request, type RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../../lib/errors';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { ARF_MEDIA_TYPES, arfResult, MAX_ARF_BYTES } from './feedback.schemas';
import { feedbackService } from './feedback.service';

export const feedbackRouter = Router();
const route = documented(feedbackRouter, { prefix: '/v1', tag: 'Events and answers' });

const readReport = express.raw({ type: [...ARF_MEDIA_TYPES], limit: MAX_ARF_BYTES });

const mediaType: RequestHandler = (req, _res, next) => {
  next(req.is([...ARF_MEDIA_TYPES]) ? undefined : new AppError(415, 'unsupported_media_type', `an ARF report is sent as ${ARF_MEDIA_TYPES.join(', ')}`));
};

/** The report as text: a multipart/report body sent with its type in the request header gets it back as a MIME header. */
function reportText(req: Request): string {
  const type = req.headers['content-type'] ?? '';
  const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  return /^multipart\/report\b/i.test(type) ? `Content-Type: ${type}\r\n\r\n${body}` : body;
}

route.raw(
  'post',
  '/feedback/arf',
  {
    access: can.ingest,
    summary: 'Record a spam complaint from a feedback loop (ARF report)',
    description:
      'The raw ARF report (RFC 5965) a mailbox provider\'s feedback loop sends: `message/rfc822` (the whole message), or `multipart/report` (its body, with the boundary in Content-Type). The reported message is found by a signed link of Verdict\'s in its headers (List-Unsubscribe) or body, else by its Message-ID. A complaint (Feedback-Type abuse, fraud or virus) suppresses the customer and the address like an unsubscribe and records one `complaint` event for the experiment (a repeated report counts once); other feedback types record nothing.',
    requestContent: Object.fromEntries(ARF_MEDIA_TYPES.map((type) => [type, { type: 'string' as const, description: 'the ARF report, as received' }])),
    responses: { 202: { description: 'what was recorded', json: arfResult } },
    // The media type is checked before anything is read; the body is read whole (at most 1 MB).
    before: [mediaType, readReport],
    errors: {
      400: '`bad_request`: the body is not an ARF report (no message/feedback-report part, or no Feedback-Type).',
      404: '`not_found`: the report names no message Verdict sent.',
      413: '`payload_too_large`: the report is over 1 MB.',
      415: '`unsupported_media_type`: not one of message/rfc822, multipart/report, text/plain, application/octet-stream.',
    },
  },
  async (req, res) => {
    const outcome = await feedbackService.recordArf(reportText(req));
    res.status(202).json(outcome satisfies z.output<typeof arfResult>);
  },
);

import { Router } from 'express';
import { z } from 'zod';
import { logger } from '../../lib/logger';
import { documented } from '../../lib/openapi';
import { experimentsService } from '../experiments';
import { resolveLocale, signToken, surveyMetricOf, trackingUrls } from '../tracking';
import { linkPreviewAgent } from './sms.protocol';
import { SMS_PAGE_HEADERS, smsInvalidLinkPage, smsSurveyPage } from './sms.page';
import { smsService } from './sms.service';

/** Public: the short link of every SMS. No API key: the token is the proof. */
export const smsRouter = Router();
const route = documented(smsRouter, { tag: 'Signed links' });

const shortTokenParams = z.object({ token: z.string().min(1).max(64) });
const HTML = { 'text/html': { type: 'string' as const } };

route.raw(
  'get',
  '/m/:token',
  {
    access: 'signed-link',
    summary: "An SMS's short link",
    description:
      "Counts the click (sms_click; link previews of messaging apps and scanners are not counted) and shows the experiment's survey question with one signed link per score (answered through /s/…), in the recipient's language.",
    params: shortTokenParams,
    responses: { 200: { description: 'the survey page (or a thank-you when the experiment asks nothing)', content: HTML }, 404: { description: 'the link is not valid', content: HTML } },
  },
  async (req, res) => {
    const parsed = shortTokenParams.safeParse(req.params);
    const link = parsed.success ? await smsService.resolveShortLink(parsed.data.token) : null;
    if (!link) {
      res.status(404).set(SMS_PAGE_HEADERS).send(smsInvalidLinkPage('en'));
      return;
    }
    if (req.method === 'GET' && !linkPreviewAgent(req.get('user-agent'))) {
      try {
        await smsService.recordClick(link);
      } catch (error) {
        logger.error({ err: error, experiment: link.experiment }, 'could not record an SMS click');
      }
    }
    const experiment = await experimentsService.getCached(link.experiment).catch(() => null);
    const metric = experiment ? surveyMetricOf(experiment) : undefined;
    let survey = null;
    // A message the survey's frequency cap left without the survey counts the click and thanks.
    if (metric && link.survey !== false) {
      const token = signToken({ messageId: link.messageId, customerId: link.customerId, experiment: link.experiment, variant: link.variant, purpose: 'survey', target: metric.key });
      const links = [];
      for (let score = metric.scale.min; score <= metric.scale.max; score++) links.push({ score, url: trackingUrls.survey(token, score) });
      survey = { metric, links };
    }
    res.status(200).set(SMS_PAGE_HEADERS).send(smsSurveyPage(resolveLocale(link.locale), survey));
  },
);

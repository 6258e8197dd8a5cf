import { Router } from 'express';
import { stringify } from 'csv-stringify';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { formulaSafe } from '../../lib/csv';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { experimentKeyParams } from '../experiments';
import { responsesCsvQuery, responsesListQuery, responsesPage, surveyThemes, themesQuery, type SurveyResponse } from './surveys.schemas';
import { surveysService } from './surveys.service';

export const surveysRouter = Router();
const route = documented(surveysRouter, { prefix: '/v1', tag: 'Events and answers' });

const notFound = '`not_found`: no such experiment.';
const badFilter = '`validation_failed`: a filter is not valid (named in details), such as minScore above maxScore or a cursor this service did not give.';
const CSV_COLUMNS = ['responseId', 'at', 'customerId', 'variant', 'metric', 'score', 'comment'] as const;

route.get(
  '/experiments/:key/responses',
  {
    access: can.read,
    summary: "The experiment's survey answers and comments",
    description:
      'Newest first, in pages of `limit` (at most 200): follow `nextCursor` while it is present. An answer is the experiment\'s when the customer was assigned to it at or before answering; its variant is that assignment\'s. Filters: metric, variant, score range (minScore, maxScore), hasComment, since.',
    params: experimentKeyParams,
    query: responsesListQuery,
    responses: { 200: { description: 'a page of answers', json: responsesPage } },
    errors: { 400: badFilter, 404: notFound },
  },
  ({ params, query }) => surveysService.listResponses(params.key, query),
);

route.get(
  '/experiments/:key/responses.csv',
  {
    access: can.read,
    summary: "The experiment's survey answers as CSV",
    description: `The same filters as the list, every matching answer newest first, one row each (${CSV_COLUMNS.join(', ')}). A cell starting with = + - @, a tab or a carriage return gets a leading single quote, so spreadsheets do not run it.`,
    params: experimentKeyParams,
    query: responsesCsvQuery,
    responses: { 200: { description: 'the answers (an attachment)', content: { 'text/csv': { type: 'string' } } } },
    errors: { 400: badFilter, 404: notFound },
  },
  async ({ params, query }, _req, res) => {
    // Read before any header goes out, so an unknown experiment is still a proper 404.
    const rows = await surveysService.readAllResponses(params.key, query);
    res.status(200).set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${params.key}-responses.csv"`, 'Cache-Control': 'no-store' });
    const records = Readable.from(
      (async function* () {
        for await (const row of rows as AsyncIterable<SurveyResponse>) yield [row.responseId, row.at.toISOString(), row.customerId, row.variant, row.metric, row.score, row.comment ?? ''];
      })(),
    );
    await pipeline(records, stringify({ header: true, columns: [...CSV_COLUMNS], cast: { string: formulaSafe } }), res);
  },
);

route.get(
  '/experiments/:key/responses/themes',
  {
    access: can.read,
    summary: 'What each variant\'s customers say differently',
    description:
      "Per survey metric with comments, the words and two-word phrases each variant's comments use more than the other variants' (the latest comment of each customer), by the z-score of the weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, \"Fightin' Words\"). English, Persian and Arabic: words split by Intl.Segmenter, Arabic and Persian letter variants made one, stop words left out.",
    params: experimentKeyParams,
    query: themesQuery,
    responses: { 200: { description: 'the themes', json: surveyThemes } },
    errors: { 400: '`validation_failed`: metric or top is not valid.', 404: notFound },
  },
  ({ params, query }) => surveysService.computeThemes(params.key, query),
);

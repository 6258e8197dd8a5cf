import { Router } from 'express';
import { z } from 'zod';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { freshnessHeaders, freshnessQuery } from '../counting';
import { experimentKeyParams, experimentView } from '../experiments';
import { experimentResults, recomputeResult, resultsQuery, rollbackBody, rolloutBody, rolloutResult, slicedResults } from './results.schemas';
import { resultsService } from './results.service';
import { timeseriesQuery, timeseriesResult } from './timeseries.schemas';
import { timeseriesService } from './timeseries.service';

export const resultsRouter = Router();
const route = documented(resultsRouter, { prefix: '/v1', tag: 'Results' });

const notFound = '`not_found`: no such experiment.';
const fresh = 'Waits (at most 5 s) until everything acknowledged before the read is counted, unless `?stale=ok`.';
const COUNTED_HEADERS = {
  'X-Counted-As-Of': 'everything acknowledged before this time is counted',
  'X-Counted-Pending': 'records acknowledged but not counted yet',
  'X-Counted-Complete': 'false when the read did not wait for everything acknowledged before it',
};

route.get(
  '/experiments/:key/results',
  {
    access: can.read,
    summary: 'Statistics, health checks and the verdict',
    description: `Per metric, the estimates per variant and the comparisons with the control; the sample ratio check; the decision (ship, keep_control, inconclusive, invalid). With \`dimension\`: the same per value of that dimension (segments, exploratory; SlicedResults). ${fresh}`,
    params: experimentKeyParams,
    query: freshnessQuery.extend(resultsQuery.shape),
    responses: { 200: { description: 'the results (with `dimension`: per slice)', json: z.union([experimentResults, slicedResults]) } },
    errors: { 400: '`bad_request`: the dimension is not one the experiment declares.', 404: notFound },
  },
  ({ params, query }) => (query.dimension !== undefined ? resultsService.slices(params.key, query.dimension, { stale: query.stale === 'ok' }) : resultsService.compute(params.key, { stale: query.stale === 'ok' })),
);
route.get(
  '/experiments/:key/results/timeseries',
  {
    access: can.read,
    summary: 'The results per UTC day of assignment',
    description: `Each day's point is over the customers assigned up to it. Default metric: the primary. ${fresh}`,
    params: experimentKeyParams,
    query: timeseriesQuery.extend(freshnessQuery.shape),
    responses: { 200: { description: 'the series', json: timeseriesResult } },
    errors: { 400: '`bad_request`: the metric is not one of the experiment.', 404: notFound },
  },
  ({ params, query }) => timeseriesService.compute(params.key, query.metric, { stale: query.stale === 'ok' }),
);
route.get(
  '/experiments/:key/results.csv',
  {
    access: can.read,
    summary: 'The results as CSV',
    description: fresh,
    params: experimentKeyParams,
    query: freshnessQuery,
    responses: { 200: { description: 'one row per metric and variant (an attachment)', content: { 'text/csv': { type: 'string' } }, headers: COUNTED_HEADERS } },
    errors: { 404: notFound },
  },
  async ({ params, query }, _req, res) => {
    const { csv, results } = await resultsService.csv(params.key, { stale: query.stale === 'ok' });
    res
      .status(200)
      .set({
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${params.key}-results.csv"`,
        'Cache-Control': 'no-store',
        ...freshnessHeaders(results),
      })
      .send(csv);
  },
);
route.post(
  '/experiments/:key/recompute',
  {
    access: can.edit,
    summary: 'Rebuild the aggregates from the raw events and answers',
    description: 'Run by the aggregator, safe while ingestion goes on; answers with the results computed from the rebuilt aggregates.',
    params: experimentKeyParams,
    responses: { 200: { description: 'what was rebuilt, and the results', json: recomputeResult } },
    errors: { 404: notFound, 503: '`unavailable`: the aggregator did not finish in time (it goes on; read the results later).' },
  },
  ({ params }) => resultsService.recompute(params.key),
);
route.post(
  '/experiments/:key/rollout',
  {
    access: can.edit,
    summary: 'Ship the winner to every later assignment',
    description: 'Takes a look at the results and rolls out its variant when the verdict is ship; `force: true` rolls out anyway (or another variant).',
    params: experimentKeyParams,
    body: rolloutBody,
    responses: { 200: { description: 'rolled out', json: rolloutResult } },
    errors: {
      400: '`bad_request`: the variant is not one of the experiment, or none is named while the decision names none.',
      404: notFound,
      409: '`conflict`: the experiment is not running, paused or stopped, or the verdict is not ship (`details.decision`) and force is not true.',
    },
  },
  ({ params, body }, req) => resultsService.rollout(params.key, body, req.principal!.name),
);
route.post(
  '/experiments/:key/rollback',
  {
    access: can.edit,
    summary: 'Undo a rollout',
    description: 'Back to stopped: assignments return to what is stored.',
    params: experimentKeyParams,
    body: rollbackBody,
    responses: { 200: { description: 'the experiment, stopped', json: experimentView } },
    errors: { 404: notFound, 409: '`conflict`: the experiment is not rolled_out.' },
  },
  ({ params }, req) => resultsService.rollback(params.key, req.principal!.name),
);

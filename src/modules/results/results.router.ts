import { Router } from 'express';
import { handle } from '../../lib/handler';
import { can } from '../../middleware/auth';
import { freshnessHeaders, freshnessQuery } from '../counting';
import { experimentKeyParams } from '../experiments';
import { rollbackBody, rolloutBody } from './results.schemas';
import { resultsService } from './results.service';
import { timeseriesQuery } from './timeseries.schemas';
import { timeseriesService } from './timeseries.service';

export const resultsRouter = Router();

resultsRouter.get(
  '/experiments/:key/results',
  can.read,
  handle({ params: experimentKeyParams, query: freshnessQuery }, ({ params, query }) => resultsService.compute(params.key, { stale: query.stale === 'ok' })),
);
resultsRouter.get(
  '/experiments/:key/results/timeseries',
  can.read,
  handle({ params: experimentKeyParams, query: timeseriesQuery.extend(freshnessQuery.shape) }, ({ params, query }) =>
    timeseriesService.compute(params.key, query.metric, { stale: query.stale === 'ok' }),
  ),
);
resultsRouter.get(
  '/experiments/:key/results.csv',
  can.read,
  handle({ params: experimentKeyParams, query: freshnessQuery }, async ({ params, query }, _req, res) => {
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
  }),
);
resultsRouter.post('/experiments/:key/recompute', can.edit, handle({ params: experimentKeyParams }, ({ params }) => resultsService.recompute(params.key)));
resultsRouter.post(
  '/experiments/:key/rollout',
  can.edit,
  handle({ params: experimentKeyParams, body: rolloutBody }, ({ params, body }, req) => resultsService.rollout(params.key, body, req.principal!.name)),
);
resultsRouter.post(
  '/experiments/:key/rollback',
  can.edit,
  handle({ params: experimentKeyParams, body: rollbackBody }, ({ params }, req) => resultsService.rollback(params.key, req.principal!.name)),
);

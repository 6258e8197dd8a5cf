import { Router } from 'express';
import { NotFoundError } from '../../lib/errors';
import { handle } from '../../lib/handler';
import { can } from '../../middleware/auth';
import { experimentKeyParams } from '../experiments';
import {
  assignBatchBody,
  assignBody,
  customerParams,
  experimentAssignmentsQuery,
  pageRedirectParams,
  pageRedirectQuery,
} from './assignments.schemas';
import { assignmentsService } from './assignments.service';

export const assignmentsRouter = Router();

assignmentsRouter.post(
  '/assignments',
  can.ingest,
  handle({ body: assignBody }, ({ body }) => assignmentsService.assign(body.experiment, body, body.forceVariant)),
);
assignmentsRouter.post(
  '/assignments/batch',
  can.ingest,
  handle({ body: assignBatchBody }, async ({ body }) => ({ assignments: await assignmentsService.assignBatch(body.experiment, body.customers) })),
);
assignmentsRouter.get(
  '/experiments/:key/assignments',
  can.read,
  handle({ params: experimentKeyParams, query: experimentAssignmentsQuery }, ({ params, query }) =>
    assignmentsService.listForExperiment(params.key, query, query.limit, query.offset),
  ),
);
assignmentsRouter.get('/customers/:customerId/assignments', can.read, handle({ params: customerParams }, ({ params }) => assignmentsService.listForCustomer(params.customerId)));

/** Public: one link for an email or an ad that lands each customer on their variant of a page. */
export const pageRedirectRouter = Router();
pageRedirectRouter.get('/p/:experiment', async (req, res) => {
  const { experiment } = pageRedirectParams.parse(req.params);
  const { cid } = pageRedirectQuery.parse(req.query);
  const url = await assignmentsService.pageUrl(experiment, cid);
  if (!url) throw new NotFoundError(`page experiment "${experiment}"`);
  res.set('Cache-Control', 'no-store').redirect(302, url);
});

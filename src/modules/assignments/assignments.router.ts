import { Router } from 'express';
import { NotFoundError } from '../../lib/errors';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { experimentKeyParams } from '../experiments';
import {
  assignBatchBody,
  assignBody,
  assignmentBatch,
  assignmentView,
  customerAssignments,
  customerParams,
  experimentAssignments,
  experimentAssignmentsQuery,
  importAssignmentsBody,
  importAssignmentsResult,
  pageRedirectParams,
  pageRedirectQuery,
  redirectAttributes,
} from './assignments.schemas';
import { assignmentsService } from './assignments.service';

export const assignmentsRouter = Router();
const route = documented(assignmentsRouter, { prefix: '/v1', tag: 'Assignments' });

route.post(
  '/assignments',
  {
    access: can.ingest,
    summary: 'Assign a customer',
    description: 'Deterministic and sticky: the same customer always gets the same variant.',
    body: assignBody,
    responses: { 200: { description: "the customer's variant, or why they are not in the experiment", json: assignmentView } },
    errors: { 400: '`bad_request`: forceVariant is not a variant of the experiment.', 404: '`not_found`: no such experiment.' },
  },
  ({ body }) => assignmentsService.assign(body.experiment, body, body.forceVariant),
);
route.post(
  '/assignments/batch',
  {
    access: can.ingest,
    summary: 'Assign up to 10,000 customers',
    body: assignBatchBody,
    responses: { 200: { description: 'one assignment per customer sent', json: assignmentBatch } },
    errors: { 404: '`not_found`: no such experiment.' },
  },
  async ({ body }) => ({ assignments: await assignmentsService.assignBatch(body.experiment, body.customers) }),
);
route.post(
  '/experiments/:key/assignments/import',
  {
    access: can.edit,
    summary: 'Import assignments made elsewhere',
    description:
      'Up to 10,000 a call, each with its variant and time (no earlier than the start, not in the future). A customer assigned before keeps its first assignment and is reported as a duplicate; a bad row stores nothing of the call. Events and answers may carry past timestamps as usual.',
    params: experimentKeyParams,
    body: importAssignmentsBody,
    responses: { 200: { description: 'how many were stored, and the duplicates', json: importAssignmentsResult } },
    errors: { 400: '`bad_request`: a row names an unknown variant, or a time before the start or in the future (the message names the row).', 404: '`not_found`: no such experiment.', 409: '`conflict`: the experiment has not started.' },
  },
  ({ params, body }) => assignmentsService.importAssignments(params.key, body.assignments),
);
route.get(
  '/experiments/:key/assignments',
  {
    access: can.read,
    summary: "An experiment's stored assignments",
    params: experimentKeyParams,
    query: experimentAssignmentsQuery,
    responses: { 200: { description: 'a page of stored assignments', json: experimentAssignments } },
    errors: { 404: '`not_found`: no such experiment.' },
  },
  ({ params, query }) => assignmentsService.listForExperiment(params.key, query, query.limit, query.offset),
);
route.get(
  '/customers/:customerId/assignments',
  { access: can.read, summary: "A customer's stored assignments", params: customerParams, responses: { 200: { description: 'every stored assignment of the customer', json: customerAssignments } } },
  ({ params }) => assignmentsService.listForCustomer(params.customerId),
);

/** Public: one link for an email or an ad that lands each customer on their variant of a page. */
export const pageRedirectRouter = Router();
documented(pageRedirectRouter, { tag: 'Assignments' }).get(
  '/p/:experiment',
  {
    access: 'public',
    summary: "Redirect to the customer's variant of a page",
    description: 'Assigns the customer (`cid`) like POST /v1/assignments and redirects to the URL of their variant (the control when they are not in the experiment).',
    params: pageRedirectParams,
    query: pageRedirectQuery,
    responses: { 302: { description: "to the variant's URL (only URLs stored on the experiment)", headers: { Location: "the variant's URL" } } },
    errors: { 404: '`not_found`: no such page experiment.' },
  },
  async ({ params, query }, _req, res) => {
    const url = await assignmentsService.pageUrl(params.experiment, query.cid, redirectAttributes(query));
    if (!url) throw new NotFoundError(`page experiment "${params.experiment}"`);
    res.set('Cache-Control', 'no-store').redirect(302, url);
  },
);

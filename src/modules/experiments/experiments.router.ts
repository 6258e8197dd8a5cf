import { Router } from 'express';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { createExperimentBody, experimentHistory, experimentKeyParams, experimentList, experimentView, listExperimentsQuery, patchExperimentBody, startExperimentBody } from './experiments.schemas';
import { experimentsService, TRANSITIONS, type TransitionAction } from './experiments.service';

export const experimentsRouter = Router();
const route = documented(experimentsRouter, { prefix: '/v1', tag: 'Experiments' });

const notFound = '`not_found`: no experiment with this key.';

route.post(
  '/experiments',
  {
    access: can.edit,
    summary: 'Create an experiment (draft)',
    body: createExperimentBody,
    responses: { 201: { description: 'the experiment, in draft', json: experimentView } },
    errors: { 409: '`conflict`: an experiment with this key exists.' },
  },
  ({ body }, req) => experimentsService.create(body, req.principal!.name),
);
route.get(
  '/experiments',
  { access: can.read, summary: 'List experiments', description: 'Newest first.', query: listExperimentsQuery, responses: { 200: { description: 'a page of experiments and how many match', json: experimentList } } },
  ({ query }) => experimentsService.list(query),
);
route.get(
  '/experiments/:key',
  { access: can.read, summary: 'Read an experiment', params: experimentKeyParams, responses: { 200: { description: 'the experiment', json: experimentView } }, errors: { 404: notFound } },
  ({ params }) => experimentsService.get(params.key),
);
route.patch(
  '/experiments/:key',
  {
    access: can.edit,
    summary: 'Edit an experiment',
    description: 'A draft may change anything; once started only name, hypothesis, metrics and analysis, and coverage may only grow.',
    params: experimentKeyParams,
    body: patchExperimentBody,
    responses: { 200: { description: 'the edited experiment', json: experimentView } },
    errors: { 404: notFound, 409: '`conflict`: a field that cannot change once started (`details.refused`, `details.editable`), or the experiment changed state meanwhile.' },
  },
  ({ params, body }, req) => experimentsService.patch(params.key, body, req.principal!.name),
);
route.delete(
  '/experiments/:key',
  {
    access: can.edit,
    summary: 'Delete a draft, or archive an experiment',
    description: 'A draft is deleted; anything that has run is archived, so its assignments and events stay explainable.',
    params: experimentKeyParams,
    responses: { 200: { description: 'the archived experiment (it had run)', json: experimentView }, 204: { description: 'the draft was deleted' } },
    errors: { 404: notFound, 409: '`conflict`: the experiment changed state meanwhile.' },
  },
  async ({ params }, req) => {
    const result = await experimentsService.remove(params.key, req.principal!.name);
    return result.deleted ? new Reply(204) : result.experiment!;
  },
);
route.get(
  '/experiments/:key/history',
  { access: can.read, summary: 'The audit trail of an experiment', params: experimentKeyParams, responses: { 200: { description: 'every change, oldest first', json: experimentHistory } }, errors: { 404: notFound } },
  async ({ params }) => ({ history: await experimentsService.history(params.key) }),
);

for (const action of Object.keys(TRANSITIONS) as TransitionAction[]) {
  const { from, to } = TRANSITIONS[action];
  route.post(
    `/experiments/:key/${action}`,
    {
      access: can.edit,
      summary: `${action[0].toUpperCase()}${action.slice(1)} an experiment`,
      description:
        action === 'start'
          ? `From ${from.join(' or ')} to ${to}. An experiment that ran elsewhere (an email tool's own split, an earlier page test) may be started with \`startedAt\` in the past, then its assignments imported.`
          : `From ${from.join(' or ')} to ${to}.`,
      params: experimentKeyParams,
      ...(action === 'start' ? { body: startExperimentBody } : {}),
      responses: { 200: { description: `the experiment, now ${to}`, json: experimentView } },
      errors: { ...(action === 'start' ? { 400: '`validation_failed`: startedAt is in the future.' } : {}), 404: notFound, 409: `\`conflict\`: the experiment is not ${from.join(' or ')}.` },
    },
    ({ params, body }, req) => experimentsService.transition(params.key, action, req.principal!.name, body?.startedAt),
  );
}

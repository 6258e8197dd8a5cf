import { Router } from 'express';
import { handle, Reply } from '../../lib/handler';
import { can } from '../../middleware/auth';
import { createExperimentBody, experimentKeyParams, listExperimentsQuery, patchExperimentBody } from './experiments.schemas';
import { experimentsService, TRANSITIONS, type TransitionAction } from './experiments.service';

export const experimentsRouter = Router();

experimentsRouter.post(
  '/experiments',
  can.edit,
  handle({ body: createExperimentBody }, ({ body }, req) => experimentsService.create(body, req.principal!.name), { status: 201 }),
);
experimentsRouter.get('/experiments', can.read, handle({ query: listExperimentsQuery }, ({ query }) => experimentsService.list(query)));
experimentsRouter.get('/experiments/:key', can.read, handle({ params: experimentKeyParams }, ({ params }) => experimentsService.get(params.key)));
experimentsRouter.patch(
  '/experiments/:key',
  can.edit,
  handle({ params: experimentKeyParams, body: patchExperimentBody }, ({ params, body }, req) => experimentsService.patch(params.key, body, req.principal!.name)),
);
experimentsRouter.delete(
  '/experiments/:key',
  can.edit,
  handle({ params: experimentKeyParams }, async ({ params }, req) => {
    const result = await experimentsService.remove(params.key, req.principal!.name);
    return result.deleted ? new Reply(204) : result.experiment;
  }),
);
experimentsRouter.get('/experiments/:key/history', can.read, handle({ params: experimentKeyParams }, async ({ params }) => ({ history: await experimentsService.history(params.key) })));

for (const action of Object.keys(TRANSITIONS) as TransitionAction[]) {
  experimentsRouter.post(
    `/experiments/:key/${action}`,
    can.edit,
    handle({ params: experimentKeyParams }, ({ params }, req) => experimentsService.transition(params.key, action, req.principal!.name)),
  );
}

import { Router } from 'express';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { can } from '../../middleware/auth';
import { createMetricBody, metricKeyParams, metricList, metricView, patchMetricBody } from './metrics.schemas';
import { metricsService } from './metrics.service';

export const metricsRouter = Router();
const route = documented(metricsRouter, { prefix: '/v1', tag: 'Metrics' });

const notFound = '`not_found`: no library metric with this key.';

route.post(
  '/metrics',
  {
    access: can.edit,
    summary: 'Define a metric in the library',
    description: 'Kinds: proportion, mean, ratio, quantile, survey (docs/metrics.md). Experiments then name it by key.',
    body: createMetricBody,
    responses: { 201: { description: 'the metric', json: metricView } },
    errors: { 409: '`metric_exists`: a library metric has this key; `built_in_metric`: a built-in metric has this key.' },
  },
  async ({ body }, req) => new Reply(201, await metricsService.create(body, req.principal!.name)),
);
route.get(
  '/metrics',
  { access: can.read, summary: 'List the metrics', description: 'The built-ins (builtIn: true), then the library by key.', responses: { 200: { description: 'every metric', json: metricList } } },
  () => metricsService.list(),
);
route.get(
  '/metrics/:key',
  { access: can.read, summary: 'Read a metric', description: 'A built-in or a library metric.', params: metricKeyParams, responses: { 200: { description: 'the metric', json: metricView } }, errors: { 404: notFound } },
  ({ params }) => metricsService.get(params.key),
);
route.patch(
  '/metrics/:key',
  {
    access: can.edit,
    summary: 'Edit a library metric',
    description:
      'The fields sent replace the stored ones (null removes an optional one; a new kind replaces the whole definition). Name and description can always change; the rest not while a running or paused experiment uses the metric.',
    params: metricKeyParams,
    body: patchMetricBody,
    responses: { 200: { description: 'the edited metric', json: metricView } },
    errors: {
      404: notFound,
      409: '`metric_in_use`: a running or paused experiment uses it (`details.experiments`: [{key, status}]); `built_in_metric`: built-ins cannot change; `conflict`: it changed meanwhile.',
    },
  },
  ({ params, body }) => metricsService.patch(params.key, body),
);
route.delete(
  '/metrics/:key',
  {
    access: can.edit,
    summary: 'Delete a library metric',
    description: 'Refused while an experiment that is running, paused, stopped or rolled out uses it (their results read its definition).',
    params: metricKeyParams,
    responses: { 204: { description: 'deleted' } },
    errors: { 404: notFound, 409: '`metric_in_use`: experiments use it (`details.experiments`: [{key, status}]); `built_in_metric`: built-ins cannot be deleted; `conflict`: it changed meanwhile.' },
  },
  async ({ params }) => {
    await metricsService.remove(params.key);
    return new Reply(204);
  },
);

import { z } from 'zod';
import { METRIC_VIEW_SHAPES, metricDefinition, metricDefinitionPatch, metricKey } from '../../lib/metric-definition';
import { isoDate } from '../../lib/schemas';

export const createMetricBody = metricDefinition;
export const patchMetricBody = metricDefinitionPatch;
export const metricKeyParams = z.object({ key: metricKey });

// Answers (the API reference, src/lib/openapi.ts).

const meta = {
  builtIn: z.boolean().meta({ description: 'true for the metrics every experiment has (they cannot be edited or deleted)' }),
  createdAt: isoDate.optional().meta({ description: 'library metrics only' }),
  updatedAt: isoDate.optional().meta({ description: 'library metrics only' }),
  createdBy: z.string().optional().meta({ description: 'library metrics only: the name of the API key that created it' }),
};

export const metricView = z
  .discriminatedUnion('kind', [
    z.object({ ...METRIC_VIEW_SHAPES.proportion, ...meta }),
    z.object({ ...METRIC_VIEW_SHAPES.mean, ...meta }),
    z.object({ ...METRIC_VIEW_SHAPES.ratio, ...meta }),
    z.object({ ...METRIC_VIEW_SHAPES.quantile, ...meta }),
    z.object({ ...METRIC_VIEW_SHAPES.survey, ...meta }),
  ])
  .meta({ id: 'Metric' });
export type MetricView = z.output<typeof metricView>;

export const metricList = z.object({ metrics: z.array(metricView).meta({ description: 'the built-ins first, then the library by key' }) });

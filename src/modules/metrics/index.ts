export { metricsRouter } from './metrics.router';
export { metricsService } from './metrics.service';
export { metricView, type MetricView } from './metrics.schemas';

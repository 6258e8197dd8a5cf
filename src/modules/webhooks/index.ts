export { webhooksRouter } from './webhooks.router';
export { webhooksService, type EmitOptions } from './webhooks.service';
export { notifyDecision, notifyRollouts, type ResultsSnapshot } from './notifications.service';
export { webhookDeliveries, type WebhookDeliveries, type WebhookWorkerOptions } from './delivery.worker';
export { signPayload, verifyPayload } from './webhook-signing';
export { WEBHOOK_EVENTS, type WebhookEvent } from './webhooks.model';

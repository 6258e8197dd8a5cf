export { webhooksRouter } from './webhooks.router';
export { configureWebhooks, webhooksService, type EmitOptions, type WebhooksSettings } from './webhooks.service';
export { notifyDecision, notifyRollouts, type ResultsSnapshot } from './notifications.service';
export { webhookDeliveries, type WebhookDeliveries, type WebhookDeliverySettings, type WebhookWorkerOptions } from './delivery.worker';
export { signPayload, verifyPayload } from './webhook-signing';
export { targetPolicyOf, type TargetPolicy } from './webhook-target';
export { WEBHOOK_EVENTS, type WebhookEvent } from './webhooks.schemas';

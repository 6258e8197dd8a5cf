export { configureTracking, signToken, verifyToken, publicBaseUrl, type TrackingSettings, trackingUrls, TOKEN_PURPOSES, type TokenPurpose, type TrackingPayload } from './tokens.service';
export { renderCampaignMessage, surveyMetricOf, type RenderInput, type RenderedMessage } from './rendering.service';
export { suppressionService, customerSuppressionId, emailSuppressionId, type UnsubscribeInput } from './suppression.service';
export { registerMessageLookup, type MessageFacts, type MessageLookup } from './message-lookup.registry';
export { trackingRouter } from './tracking.router';
export { trackingService, clickClassifierDuty } from './tracking.service';

export { configureTracking, signToken, verifyToken, signShortToken, verifyShortToken, shortReference, publicBaseUrl, type TrackingSettings, trackingUrls, TOKEN_PURPOSES, type TokenPurpose, type TrackingPayload } from './tokens.service';
export { renderCampaignMessage, surveyMetricOf, type RenderInput, type RenderedMessage } from './rendering.service';
export { renderMessages, closeRenderPool, type RenderChunk, type RenderOutcome } from './render.pool';
export { suppressionService, customerSuppressionId, emailSuppressionId, phoneSuppressionId, type UnsubscribeInput } from './suppression.service';
export { registerMessageLookup, type MessageFacts, type MessageLookup } from './message-lookup.registry';
export { trackingRouter } from './tracking.router';
export { trackingService, clickClassifierDuty } from './tracking.service';
// The recipient's words and the page escaping, for the SMS landing page (src/modules/sms).
export { escapeHtml } from './rendering.service';
export { formatNumber, isRtl, resolveLocale, surveyWords, words, type Locale } from './locales.catalogue';

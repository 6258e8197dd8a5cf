export { clientApiRouter, clientKeysRouter, sdkScriptRouter } from './client-keys.router';
export { clientKeysService } from './client-keys.service';
export { buildPayload, featureOf, type SdkPayload } from './sdk-payload.service';
export { pageEventId } from './page-events.service';

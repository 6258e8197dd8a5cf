export { clientApiRouter, clientKeysRouter, sdkScriptRouter } from './client-keys.router';
export { clientKeysService, configureClientKeys, type ClientKeysSettings } from './client-keys.service';
export { buildPayload, featureOf } from './sdk-payload.service';
export type { SdkPayload } from './client-keys.schemas';
export { pageEventId } from './page-events.service';

export { apiKeysRouter } from './api-keys.router';
export { apiKeysService, configureApiKeys, generateApiKey, type ApiKeysSettings } from './api-keys.service';
export { authenticate } from './authenticate';

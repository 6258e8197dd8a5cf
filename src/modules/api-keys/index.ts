export { apiKeysRouter } from './api-keys.router';
export { apiKeysService, setAdminKey, type Principal } from './api-keys.service';
export { ROLES, type Role } from './api-keys.schemas';

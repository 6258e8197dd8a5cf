export { buildApp } from './app';
export { startService } from './server';

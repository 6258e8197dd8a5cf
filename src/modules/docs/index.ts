export { docsRouter } from './docs.router';

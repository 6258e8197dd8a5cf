import { Router } from 'express';
import { documented, openApiDocument } from '../../lib/openapi';
import { docsAssets, docsPolicy, DOCS_PAGE } from './docs.page';
import { openApiDocumentView } from './docs.schemas';

/** Public: the API reference, as a document and as a page. */
export const docsRouter = Router();
const route = documented(docsRouter, { tag: 'Reference' });

route.get(
  '/openapi.json',
  {
    access: 'public',
    summary: 'This document (OpenAPI 3.1)',
    description: 'Generated from the zod schemas that validate the requests; every route, its parameters, bodies, answers and the role it needs.',
    responses: { 200: { description: 'the OpenAPI document', json: openApiDocumentView } },
  },
  () => openApiDocument(),
);

// The page and its files get a policy of their own (scripts and styles from this origin): docs.page.ts.
docsRouter.use('/docs', docsPolicy);
route.get(
  '/docs',
  {
    access: 'public',
    summary: 'The interactive reference (Swagger UI)',
    description: 'Try calls with your key: **Authorize**, then **Try it out**. Served from this service, nothing loaded from the internet.',
    responses: { 200: { description: 'the page', content: { 'text/html': { type: 'string' } } } },
  },
  (_input, _req, res) => {
    res.type('html').send(DOCS_PAGE);
  },
);
docsRouter.use('/docs', docsAssets);

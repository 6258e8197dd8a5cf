// The interactive reference at /docs: Swagger UI from the swagger-ui-dist package, served from
// node_modules (nothing is loaded from the internet), with a page and an initializer of our own that point
// it at /openapi.json. The initializer is a file, not an inline script: the policy below allows scripts,
// styles, images and requests from this origin only.
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import { contentSecurityPolicy } from 'helmet';

/** swagger-ui-dist's folder, from its package.json: its index.js would load the whole bundle into Node. */
export const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The files of swagger-ui-dist the page uses (not its index.html, which points at the Petstore). */
export const SWAGGER_UI_FILES = ['swagger-ui.css', 'index.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png'];

export const INITIALIZER_FILE = 'verdict-docs.js';

export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verdict API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/docs/index.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<noscript>This reference needs JavaScript. The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/${INITIALIZER_FILE}"></script>
</body>
</html>
`;

// Authorize keeps the key in the page's memory only (persistAuthorization is off): a reload forgets it.
const INITIALIZER = `// Swagger UI over Verdict's OpenAPI document. A file of its own: the page's policy allows no inline script.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  validatorUrl: null,
  displayRequestDuration: true,
});
`;

/**
 * What Swagger UI needs, from this origin only: its script and ours, its style sheets, its images (the
 * icons are data: URIs in its CSS; an image answer tried out is shown from a blob: URL), and requests
 * (the document, and the calls tried out). No inline script or style, no framing.
 */
export const docsPolicy = contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    connectSrc: ["'self'"],
    formAction: ["'none'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
});

const files = new Set(SWAGGER_UI_FILES.map((file) => `/${file}`));
const serveDist = express.static(SWAGGER_UI_DIR, { index: false, redirect: false });

/** Under /docs: the initializer, and the files of swagger-ui-dist the page uses; anything else passes on (404). */
export const docsAssets: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    next();
    return;
  }
  if (req.path === `/${INITIALIZER_FILE}`) {
    res.type('text/javascript').send(INITIALIZER);
    return;
  }
  if (files.has(req.path)) return serveDist(req, res, next);
  next();
};

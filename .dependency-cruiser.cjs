// dependency-cruiser: the import rules of the code (`npm run deps`; `npm test` runs it before the tests).
// It cruises src/, config/, scripts/ and test/, resolving through tsconfig.test.json, and counts
// type-only imports too (tsPreCompilationDeps), so a cycle or a boundary crossed by types alone is found.
//
// The layout the rules protect:
//   - src/modules/<name>/ is a feature module; its index.ts is its public face, everything else is internal.
//   - src/lib, src/db, src/jobs, src/bucketing, src/stats, src/middleware and config/ are shared code that
//     any file may import (file by file: they have no index to go through).
//   - a module's mongoose models (*.model.ts) are reached through its repositories only.
//   - process.env is read in config/ only (ESLint's no-restricted-properties enforces that, see
//     eslint.config.mjs; the rule here closes the `import { env } from 'node:process'` way around it).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'No import cycles. A cycle makes the load order decide what is defined at import time (the api-keys router once ' +
        'had to avoid `can` because src/middleware/auth.ts imported the api-keys module). Break it by moving the shared ' +
        'part down (into src/lib or src/middleware) or by passing it in.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'module-internals',
      severity: 'error',
      comment:
        'A module imports another module only through its index.ts (src/modules/<name>/index.ts), never a file inside it: ' +
        'what the index does not export is the module\'s own business. Export what is needed from the index instead.',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'] },
    },
    {
      name: 'module-internals-from-outside',
      severity: 'error',
      comment:
        'Code outside the modules (src/app.ts, src/server.ts, the shared folders, config/, scripts/) uses a module ' +
        'through its index.ts only. test/ is exempt: unit tests test a module\'s internals directly.',
      from: { path: '^(src|config|scripts)/', pathNot: '^src/modules/' },
      to: { path: '^src/modules/[^/]+/', pathNot: '^src/modules/[^/]+/index\\.ts$' },
    },
    {
      name: 'model-outside-repository',
      severity: 'error',
      comment:
        'A mongoose model is used by its own module\'s repositories (*.repository.ts) only: services, routers and workers go ' +
        'through a repository. Other files of the module may import the record interfaces a model file declares, type-only ' +
        '(`import type`), and the module\'s index may re-export them type-only. (Other modules and outside code cannot reach ' +
        'a model file at all: the two rules above.) Exception, not an import: src/db/connection.ts creates the indexes of ' +
        'every model registered with mongoose (mongoose.models) at start.',
      from: { path: '^src/modules/([^/]+)/', pathNot: '\\.repository\\.ts$' },
      to: { path: '^src/modules/$1/[^/]+\\.model\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-models-in-tests-and-scripts',
      severity: 'error',
      comment:
        'Tests and scripts read and write the database through the modules\' services and repositories, or through the ' +
        'driver, not through a model: a model imported here would register and couple to mongoose details the modules own.',
      from: { path: '^(test|scripts)/' },
      to: { path: '^src/modules/[^/]+/[^/]+\\.model\\.ts$' },
    },
    {
      name: 'process-only-in-config',
      severity: 'error',
      comment: 'The environment is read in config/ only: src/ imports no `process` module (the global is ESLint\'s to police).',
      from: { path: '^src/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?process$' },
    },
  ],
  options: {
    // the project's files, and node's process module (for process-only-in-config)
    includeOnly: ['^(src|config|scripts|test)/', '^(node:)?process$'],
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
    cache: false,
  },
};

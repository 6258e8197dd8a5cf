// ESLint (flat config): typescript-eslint's strict and stylistic type-aware rules for the TypeScript of
// src/, config/, scripts/ and test/ (`npm run lint`; `npm test` runs it before the tests, see pretest).
// The type information comes from tsconfig.test.json, the project that covers all four folders.
// Rules tuned or turned off below say why in one line; inline disables are rare and explained where they are.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Plain JavaScript (scripts/start.js, the browser SDK, these config files) is not part of the TS project.
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'data/**', 'coverage/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  {
    files: ['src/**/*.ts', 'config/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked, ...tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans in messages, URLs and logs read fine; nullish and objects stay errors.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `!` marks invariants the compiler cannot see (regex groups, Map entries just set, rows known to exist);
      // the tests use it on every answer body. A check would only throw a different error.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Without noUncheckedIndexedAccess, Record/array lookups look never-undefined, and stored documents
      // from older versions or JavaScript callers of the stats package do send what the types exclude:
      // the rule would have us delete the guards that keep those cases working.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // `() => resolve(x)` callbacks and Express's early `return next()` / `return sendPage(...)` are the idiom:
      // returning a void call from a function that returns void is harmless.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // `import x = require('...')` is how TypeScript imports the CommonJS `export =` of the @stdlib packages.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // `async () => value` is how a callback meets a Promise-returning signature (renew, lookups, stoppers, until()).
      '@typescript-eslint/require-await': 'off',
      // `||` on strings and booleans is deliberate (an empty form field means "none", a cached `false` becomes null), a ternary on `=== undefined` keeps a
      // JavaScript caller's null an error, and `a && (b || c)` reads as a boolean: only plain `x || default` is reported.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true, boolean: true }, ignoreTernaryTests: true, ignoreMixedLogicalExpressions: true }],
      // Its rewrites of `!x || x.y !== z` into optional chains are equivalent only case by case; the explicit checks stay.
      '@typescript-eslint/prefer-optional-chain': 'off',
      // An AbortSignal's reason (typed `any`) is what an aborted operation rejects with, as Node's own APIs do.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true }],
      // Unused arguments and destructured-away fields are named `_x` on purpose (e.g. Express's `_req`, `{ n: _n, ...rest }`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // The environment is read in config/ only (parsed and validated once there); src/ gets its settings from it.
    // test/ and scripts/ may read process.env. (.dependency-cruiser.cjs forbids importing node:process in src/.)
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through config/ (the one place that reads process.env).' }],
    },
  },
  {
    // mongoose's schema definitions type each path as a SchemaTypeOptions class; plain object literals are
    // mongoose's documented way to write them.
    files: ['src/modules/**/*.model.ts'],
    rules: { '@typescript-eslint/no-unsafe-class-instance-assignment': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // supertest types every answer body as `any`; the tests read and assert on it field by field.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/restrict-plus-operands': ['error', { allowAny: true }],
    },
  },
);

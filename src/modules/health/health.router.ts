// The health probes. src/app.ts mounts them before the rate limit of the public routes and the body parsers.
import { Router } from 'express';
import type { z } from 'zod';
import { databaseDownForMs, isDatabaseReachable } from '../../db/connection';
import { Reply } from '../../lib/handler';
import { documented } from '../../lib/openapi';
import { healthy, ready, unavailable, unhealthy } from './health.schemas';

/** /healthz answers 503 once the database has been unreachable for this long (a restart takes less). */
const HEALTHZ_DATABASE_GRACE_MS = 3_000;

export const healthRouter = Router();
const route = documented(healthRouter, { tag: 'Health' });

// Cheap: the database's state as the connection already tracks it, no round trip.
route.get(
  '/healthz',
  {
    access: 'public',
    rateLimited: false,
    summary: 'Is the process up',
    description: `503 once the database has been unreachable for over ${HEALTHZ_DATABASE_GRACE_MS / 1000} s, from the state the connection already tracks (no round trip).`,
    responses: { 200: { description: 'up', json: healthy }, 503: { description: 'the database has been unreachable too long', json: unhealthy } },
  },
  () => (databaseDownForMs() > HEALTHZ_DATABASE_GRACE_MS ? new Reply(503, { status: 'unhealthy', database: false } satisfies z.output<typeof unhealthy>) : { status: 'ok' as const }),
);
route.get(
  '/readyz',
  {
    access: 'public',
    rateLimited: false,
    summary: 'Is the database reachable',
    description: 'A ping of the database.',
    responses: { 200: { description: 'ready', json: ready }, 503: { description: 'the database did not answer', json: unavailable } },
  },
  async () => {
    const database = await isDatabaseReachable();
    return database ? { status: 'ready' as const, database } : new Reply(503, { status: 'unavailable', database } satisfies z.output<typeof unavailable>);
  },
);

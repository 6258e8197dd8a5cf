// A client that ingests like a real one (assignments, batches of events, single answers), retrying every
// call until it is acknowledged (2xx), and the independent counts the counting engine must agree with:
// from what the client saw acknowledged, and from the raw records in the database.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from 'mongodb';
import { ADMIN_KEY } from './app';
import { emailExperiment, uniqueKey } from './factories';

/** A small seeded PRNG (mulberry32): the same seed gives the same plan and the same kill moments. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface EventSpec {
  eventId: string;
  customerId: string;
  name: 'email.open' | 'email.click' | 'purchase';
  experiment: string;
  value?: number;
}

export type Op =
  | { kind: 'assignBatch'; customers: string[] }
  | { kind: 'assign'; customerId: string }
  | { kind: 'events'; events: EventSpec[] }
  | { kind: 'response'; responseId: string; customerId: string; score: number };

/** The experiment the counting tests use: binomial metrics, a mean metric with event values, and CSAT. */
export function countingExperiment(overrides: Record<string, unknown> = {}) {
  return emailExperiment({
    key: uniqueKey('count'),
    name: 'Counting engine test',
    metrics: {
      primary: 'email_open',
      secondary: ['email_click', 'spend', 'csat'],
      guardrails: [],
      custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }],
    },
    ...overrides,
  });
}

export interface PlanOptions {
  experiment: string;
  /** Prefix of customer ids and event ids: distinct per ingester. */
  prefix: string;
  seed: number;
  /** Customers assigned up front in batches of 500. */
  customers: number;
  eventBatches: number;
  batchSize: number;
  /** After each event batch: this many new customers assigned one by one, and this many answers. */
  singlesPerBatch?: number;
  responsesPerBatch?: number;
}

/**
 * A deterministic sequence of calls. A customer's events and answers come only after the call that
 * assigns them (so every event is after its assignment); some events are sent again in a later batch
 * (a client's own retry: counted once).
 */
export function makePlan(options: PlanOptions): Op[] {
  const random = seeded(options.seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const ops: Op[] = [];
  const assigned: string[] = [];
  for (let i = 0; i < options.customers; i += 500) {
    const customers = Array.from({ length: Math.min(500, options.customers - i) }, (_, k) => `${options.prefix}-c${i + k}`);
    ops.push({ kind: 'assignBatch', customers });
    assigned.push(...customers);
  }
  const answered = new Set<string>();
  let previous: EventSpec[] = [];
  let singles = 0;
  for (let b = 0; b < options.eventBatches; b++) {
    const events: EventSpec[] = previous.slice(0, Math.floor(options.batchSize / 50));
    for (let j = events.length; j < options.batchSize; j++) {
      const r = random();
      const name = r < 0.5 ? 'email.open' : r < 0.8 ? 'purchase' : 'email.click';
      const event: EventSpec = { eventId: `${options.prefix}-e${b}-${j}`, customerId: pick(assigned), name, experiment: options.experiment };
      // Multiples of 0.25: sums are exact whatever the order they are added in.
      if (name === 'purchase') event.value = (1 + Math.floor(random() * 80)) * 0.25;
      events.push(event);
    }
    ops.push({ kind: 'events', events });
    previous = events.slice(events.length - Math.floor(options.batchSize / 50));
    for (let s = 0; s < (options.singlesPerBatch ?? 0); s++) {
      const customerId = `${options.prefix}-s${singles++}`;
      ops.push({ kind: 'assign', customerId });
      assigned.push(customerId);
    }
    for (let s = 0; s < (options.responsesPerBatch ?? 0); s++) {
      const customerId = pick(assigned);
      if (answered.has(customerId)) continue;
      answered.add(customerId);
      ops.push({ kind: 'response', responseId: `${options.prefix}-r-${customerId}`, customerId, score: 1 + Math.floor(random() * 5) });
    }
  }
  return ops;
}

/**
 * A crash (kill -9 of something) run once while the first ingester works through `plan`: a seeded
 * delay after its call at a seeded index (neither the first nor the last few) is sent. Pass `onSent` to
 * that ingester; `started()` is the crash once it began (undefined if it never did). The delay stays
 * below the time a batch call takes, so the crash meets that call in flight.
 */
export function crashDuringIngest(plan: Op[], random: () => number, crash: () => Promise<void>) {
  const killAt = 4 + Math.floor(random() * (plan.length - 8));
  const delayMs = Math.floor(random() * 12);
  let running: Promise<void> | undefined;
  const inFlight = new Set<number>();
  let inFlightAtCrash = 0;
  return {
    onSent: (index: number): void => {
      inFlight.add(index);
      if (index !== killAt || running) return;
      running = (async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        inFlightAtCrash = inFlight.size;
        await crash();
      })();
    },
    /** Pass as the same ingester's onAcknowledged. */
    onAcknowledged: (index: number): void => {
      inFlight.delete(index);
    },
    started: (): Promise<void> | undefined => running,
    /** How many of that ingester's calls were sent and not yet acknowledged when the crash began. */
    inFlightAtCrash: (): number => inFlightAtCrash,
  };
}

/** What the client saw acknowledged (2xx). */
export interface Ledger {
  /** customerId → variant, as answered. */
  assigned: Map<string, string>;
  events: Map<string, EventSpec>;
  responses: Map<string, { customerId: string; score: number }>;
  /** Calls that failed (connection error, 5xx, timeout) and were retried. */
  retries: number;
  /** Sum of `duplicates` over acknowledged event calls. */
  duplicates: number;
  accepted: number;
}

export function emptyLedger(): Ledger {
  return { assigned: new Map(), events: new Map(), responses: new Map(), retries: 0, duplicates: 0, accepted: 0 };
}

export interface IngestOptions {
  /** The service URLs; a call that cannot be delivered moves on to the next one. */
  targets: string[];
  ledger?: Ledger;
  /** Called after the first attempt of call `index` has been sent (before its answer). */
  onSent?: (index: number) => void;
  /** Called once call `index` is acknowledged. */
  onAcknowledged?: (index: number) => void | Promise<void>;
  /** Give up (fail) when one call is not acknowledged within this (default 90 s). */
  callDeadlineMs?: number;
}

export interface CallAnswer {
  status: number;
  body: any;
}

export async function call(url: string, method: string, route: string, body?: unknown, timeoutMs = 30_000): Promise<CallAnswer> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/**
 * The `plan` attribute every assignment of these tests carries (a segment, when the experiment declares
 * it): one of three values from the customer id, none for about a quarter of the customers.
 */
export function planOf(customerId: string): string | undefined {
  let h = 0;
  for (const c of customerId) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return h % 4 === 3 ? undefined : ['free', 'pro', 'team'][h % 3];
}

function attributesOf(customerId: string): { attributes?: { plan: string } } {
  const plan = planOf(customerId);
  return plan ? { attributes: { plan } } : {};
}

function request(op: Op, experiment: string): { route: string; body: unknown } {
  switch (op.kind) {
    case 'assignBatch':
      return { route: '/v1/assignments/batch', body: { experiment, customers: op.customers.map((customerId) => ({ customerId, ...attributesOf(customerId) })) } };
    case 'assign':
      return { route: '/v1/assignments', body: { experiment, customerId: op.customerId, ...attributesOf(op.customerId) } };
    case 'events':
      return { route: '/v1/events', body: { events: op.events } };
    case 'response':
      return { route: '/v1/responses', body: { responseId: op.responseId, customerId: op.customerId, metric: 'csat', score: op.score, experiment } };
  }
}

/** Sends the calls in order, each until it is acknowledged; 4xx is a test failure, not a retry. */
export async function ingest(experiment: string, ops: Op[], options: IngestOptions): Promise<Ledger> {
  const ledger = options.ledger ?? emptyLedger();
  let target = 0;
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    const { route, body } = request(op, experiment);
    const deadline = Date.now() + (options.callDeadlineMs ?? 90_000);
    let first = true;
    let last = '';
    for (;;) {
      if (Date.now() > deadline) throw new Error(`call ${index} (${route}) not acknowledged in time; last: ${last}`);
      const attempt = call(options.targets[target % options.targets.length], 'POST', route, body);
      if (first) options.onSent?.(index);
      first = false;
      let answer: CallAnswer;
      try {
        answer = await attempt;
      } catch (error) {
        last = String((error as Error).cause ?? error);
        ledger.retries++;
        target++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (answer.status >= 500) {
        last = `${answer.status} ${JSON.stringify(answer.body)}`;
        ledger.retries++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      assert.ok(answer.status >= 200 && answer.status < 300, `${route} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      record(ledger, op, answer.body);
      break;
    }
    await options.onAcknowledged?.(index);
  }
  return ledger;
}

function record(ledger: Ledger, op: Op, body: any): void {
  switch (op.kind) {
    case 'assignBatch':
      for (const a of body.assignments as { customerId: string; variant: string }[]) setOnce(ledger.assigned, a.customerId, a.variant);
      return;
    case 'assign':
      setOnce(ledger.assigned, op.customerId, body.variant);
      return;
    case 'events':
      for (const e of op.events) ledger.events.set(e.eventId, e);
      ledger.accepted += body.accepted;
      ledger.duplicates += body.duplicates;
      return;
    case 'response':
      ledger.responses.set(op.responseId, { customerId: op.customerId, score: op.score });
      return;
  }
}

function setOnce(map: Map<string, string>, customerId: string, variant: string): void {
  assert.ok(typeof variant === 'string', `customer ${customerId} was answered without a variant`);
  const before = map.get(customerId);
  assert.ok(before === undefined || before === variant, `customer ${customerId} was answered ${before} and then ${variant}`);
  map.set(customerId, variant);
}

/** The numbers the summary must show, per variant. */
export interface Counts {
  assigned: number;
  email_open: number;
  email_click: number;
  spend: { units: number; sum: number; sumSquares: number };
  csat: { units: number; sum: number };
}

/**
 * The counting rule written independently: binomial metrics count customers with the event, the mean
 * metric sums per customer (sum of squares of per-customer totals), an answer counts once per customer.
 * Every event given here is after its customer's assignment (the plans make sure of it).
 */
export function countIndependently(
  variants: string[],
  assigned: Map<string, string>,
  events: Iterable<{ customerId: string; name: string; value?: number }>,
  responses: Iterable<{ customerId: string; score: number }>,
): Record<string, Counts> {
  const counts: Record<string, Counts> = {};
  for (const v of variants) counts[v] = { assigned: 0, email_open: 0, email_click: 0, spend: { units: 0, sum: 0, sumSquares: 0 }, csat: { units: 0, sum: 0 } };
  for (const variant of assigned.values()) counts[variant].assigned++;
  const opened = new Set<string>();
  const clicked = new Set<string>();
  const spent = new Map<string, number>();
  for (const e of events) {
    if (!assigned.has(e.customerId)) continue;
    if (e.name === 'email.open') opened.add(e.customerId);
    if (e.name === 'email.click') clicked.add(e.customerId);
    if (e.name === 'purchase') spent.set(e.customerId, (spent.get(e.customerId) ?? 0) + (e.value ?? 0));
  }
  for (const c of opened) counts[assigned.get(c)!].email_open++;
  for (const c of clicked) counts[assigned.get(c)!].email_click++;
  for (const [c, total] of spent) {
    const s = counts[assigned.get(c)!].spend;
    s.units++;
    s.sum += total;
    s.sumSquares += total * total;
  }
  for (const r of responses) {
    if (!assigned.has(r.customerId)) continue;
    const s = counts[assigned.get(r.customerId)!].csat;
    s.units++;
    s.sum += r.score;
  }
  return counts;
}

/** The independent counts from the client's acknowledged calls. */
export function countLedger(variants: string[], ...ledgers: Ledger[]): Record<string, Counts> {
  const assigned = new Map<string, string>();
  const events = new Map<string, EventSpec>();
  const responses = new Map<string, { customerId: string; score: number }>();
  for (const l of ledgers) {
    for (const [c, v] of l.assigned) setOnce(assigned, c, v);
    for (const [id, e] of l.events) events.set(id, e);
    for (const [id, r] of l.responses) responses.set(id, r);
  }
  return countIndependently(variants, assigned, events.values(), responses.values());
}

export interface RawRecords {
  assigned: Map<string, string>;
  eventIds: Set<string>;
  counts: Record<string, Counts>;
}

/** The independent counts from the raw records stored for the experiment (distinct eventIds: the _id). */
export async function countRaw(database: Db, experiment: string, variants: string[]): Promise<RawRecords> {
  const assigned = new Map<string, string>();
  for await (const a of database.collection<{ _id: string; customerId: string; variant: string }>('assignments').find({ experiment })) assigned.set(a.customerId, a.variant);
  const events = await database
    .collection<{ _id: string; customerId: string; name: string; value?: number }>('events')
    .find({ experiment }, { projection: { customerId: 1, name: 1, value: 1 } })
    .toArray();
  const responses = await database.collection<{ _id: string; customerId: string; score: number }>('responses').find({ experiment }).toArray();
  return { assigned, eventIds: new Set(events.map((e) => e._id)), counts: countIndependently(variants, assigned, events, responses) };
}

export interface Summary {
  asOf: string;
  pending: number;
  complete: boolean;
  variants: { variant: string; assigned: number; metrics: Record<string, { units: number; sum: number; sumSquares: number; histogram?: Record<string, number> }> }[];
}

/** GET summary until it says everything acknowledged is counted (complete, nothing pending), with a bound. */
export async function settledSummary(url: string, experiment: string, timeoutMs = 60_000): Promise<Summary> {
  const deadline = Date.now() + timeoutMs;
  let last: CallAnswer | undefined;
  for (;;) {
    try {
      last = await call(url, 'GET', `/v1/experiments/${experiment}/summary`);
      if (last.status === 200 && last.body.complete === true && last.body.pending === 0) return last.body as Summary;
    } catch (error) {
      last = { status: 0, body: String(error) };
    }
    if (Date.now() > deadline) throw new Error(`the summary did not settle in ${timeoutMs} ms: ${JSON.stringify(last?.body).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The settled summary once it counts `expected`, or the last one after the bound. Records stored by a
 * request that died are counted once its batch is taken over (COUNTING_GRACE_MS after it was opened),
 * even when a retry has been acknowledged (as duplicates) before: a settled summary may precede that.
 */
export async function summaryCounting(url: string, experiment: string, expected: Record<string, Counts>, boundMs = 20_000): Promise<Summary> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const summary = await settledSummary(url, experiment);
    if (isDeepStrictEqual(countsOfSummary(summary), expected) || Date.now() > deadline) return summary;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The summary's numbers in the shape of Counts. */
export function countsOfSummary(summary: Summary): Record<string, Counts> {
  const counts: Record<string, Counts> = {};
  for (const v of summary.variants) {
    const m = v.metrics;
    counts[v.variant] = {
      assigned: v.assigned,
      email_open: m.email_open.units,
      email_click: m.email_click.units,
      spend: { units: m.spend.units, sum: m.spend.sum, sumSquares: m.spend.sumSquares },
      csat: { units: m.csat.units, sum: m.csat.sum },
    };
  }
  return counts;
}

/**
 * The exactly-once check: the summary equals the counts from the acknowledged calls, and those equal the
 * counts from the raw records (and the stored records are exactly the acknowledged ones).
 */
export async function assertCountedExactlyOnce(
  url: string,
  database: Db | (() => Promise<Db>),
  experiment: string,
  variants: string[],
  ledgers: Ledger[],
): Promise<Summary> {
  const fromLedger = countLedger(variants, ...ledgers);
  const summary = await summaryCounting(url, experiment, fromLedger);
  // A function: the raw records are read after the summary (e.g. once the service has released its files).
  const raw = await countRaw(typeof database === 'function' ? await database() : database, experiment, variants);
  const acknowledged = new Set(ledgers.flatMap((l) => [...l.events.keys()]));
  assert.equal(raw.eventIds.size, acknowledged.size, 'the stored events are the acknowledged ones');
  for (const id of acknowledged) assert.ok(raw.eventIds.has(id), `acknowledged event ${id} is stored`);
  const assigned = new Map(ledgers.flatMap((l) => [...l.assigned]));
  assert.deepEqual(raw.assigned, assigned, 'the stored assignments are the acknowledged ones, with the variants answered');
  assert.deepEqual(raw.counts, fromLedger, 'raw records and acknowledged calls give the same counts');
  assert.deepEqual(countsOfSummary(summary), fromLedger, 'the summary counts every acknowledged record exactly once');
  return summary;
}

/** Sets up an experiment on a service and starts it. */
export async function startExperiment(url: string, body: Record<string, unknown> = countingExperiment()): Promise<string> {
  const created = await call(url, 'POST', '/v1/experiments', body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const started = await call(url, 'POST', `/v1/experiments/${body.key as string}/start`);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  return body.key as string;
}

export const VARIANTS = ['control', 'friendly'];

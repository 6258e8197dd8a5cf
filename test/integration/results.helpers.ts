// Builders of realistic experiment traffic for the results tests: batch assignments, then events and answers
// chosen per variant, so each test controls the rates it wants to see.
import assert from 'node:assert/strict';
import type { Api } from '../helpers/app';
import { emailExperiment, eventId, runningExperiment } from '../helpers/factories';

export interface Customer {
  id: string;
  variant: string;
  /** Position of the customer within its variant (0, 1, 2, ...), for deterministic rates. */
  rank: number;
}

/** Assigns customers `${prefix}-${i}` with POST /v1/assignments/batch; returns them with their variants. */
export async function assignCustomers(client: Api, key: string, count: number, prefix = key, from = 0): Promise<Customer[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${from + i}`);
  const response = await client.post('/v1/assignments/batch').send({ experiment: key, customers: ids.map((customerId) => ({ customerId })) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  const ranks = new Map<string, number>();
  return (response.body.assignments as { customerId: string; variant: string }[]).map((a) => {
    const rank = ranks.get(a.variant) ?? 0;
    ranks.set(a.variant, rank + 1);
    return { id: a.customerId, variant: a.variant, rank };
  });
}

export interface EventSpec {
  customerId: string;
  name: string;
  value?: number;
  timestamp?: string;
  eventId?: string;
}

/** Sends events in chunks of at most 5,000 (the API limit), scoped to the experiment. */
export async function sendEvents(client: Api, key: string, events: EventSpec[]): Promise<void> {
  for (let i = 0; i < events.length; i += 5000) {
    const chunk = events.slice(i, i + 5000).map((e) => ({ eventId: e.eventId ?? eventId(), experiment: key, ...e }));
    const response = await client.post('/v1/events').send({ events: chunk });
    assert.equal(response.status, 202, JSON.stringify(response.body));
  }
}

/** Events for the customers whose rank within their variant passes `rate` (e.g. 0.3 → 3 in every 10). */
export function eventsAtRates(customers: Customer[], name: string, rates: Record<string, number>): EventSpec[] {
  return customers.filter((c) => hits(c.rank, rates[c.variant] ?? 0)).map((c) => ({ customerId: c.id, name }));
}

/** Deterministic Bernoulli pattern: rank r "hits" when floor((r + 1)·rate) > floor(r·rate). */
export function hits(rank: number, rate: number): boolean {
  return Math.floor((rank + 1) * rate) > Math.floor(rank * rate);
}

export async function respond(client: Api, key: string, body: { customerId: string; metric: 'csat' | 'nps' | 'ces'; score: number; responseId?: string; timestamp?: string }) {
  const response = await client.post('/v1/responses').send({ experiment: key, ...body });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
  return response.body;
}

export interface MetricBody {
  metric: string;
  role: string;
  kind: string;
  direction: string;
  test: string;
  variants: { variant: string; units: number; value: number | null; ci: [number, number] | null; responders?: number; distribution?: Record<string, number>; topBox?: { successes: number; trials: number; rate: number | null }; standardDeviation?: number | null }[];
  comparisons: {
    variant: string;
    baseline: string;
    absoluteLift: number | null;
    relativeLift: number | null;
    ci: [number, number] | null;
    pValue: number | null;
    adjustedPValue: number | null;
    fixedHorizonPValue?: number | null;
    significant: boolean;
    better: boolean | null;
    chanceToBeatControl?: number;
    robustness?: Record<string, { pValue: number; statistic?: number }>;
  }[];
}

export function metricOf(results: { metrics: MetricBody[] }, metric: string): MetricBody {
  const found = results.metrics.find((m) => m.metric === metric);
  assert.ok(found, `metric ${metric} missing from ${results.metrics.map((m) => m.metric).join(', ')}`);
  return found;
}

/**
 * A running sequential experiment (opens primary, a mean `spend` secondary) whose first 400 customers
 * show a clear effect on both: control opens 10% and spends 10-12, friendly opens 60% and spends 30-32.
 */
export async function sequentialExperimentWithEffect(client: Api): Promise<{ key: string; first: Customer[] }> {
  const key = await runningExperiment(
    client,
    emailExperiment({
      metrics: { primary: 'email_open', secondary: ['spend'], custom: [{ key: 'spend', kind: 'mean', event: 'purchase', direction: 'increase' }] },
      analysis: { method: 'sequential' },
    }),
  );
  const first = await assignCustomers(client, key, 400);
  await sendEvents(client, key, [
    ...eventsAtRates(first, 'email.open', { control: 0.1, friendly: 0.6 }),
    ...first.filter((c) => hits(c.rank, 0.5)).map((c) => ({ customerId: c.id, name: 'purchase', value: c.variant === 'friendly' ? 30 + (c.rank % 3) : 10 + (c.rank % 3) })),
  ]);
  return { key, first };
}

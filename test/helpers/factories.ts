// Test data builders: valid by default, overridable field by field.
import { randomBytes } from 'node:crypto';
import type { ExperimentRecord } from '../../src/modules/experiments';
import type { Api } from './app';

export function uniqueKey(prefix = 'exp'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function emailExperiment(overrides: Record<string, unknown> = {}) {
  return {
    key: uniqueKey('email'),
    name: 'Welcome email subject test',
    hypothesis: 'A friendlier subject gets more opens and happier customers',
    assetType: 'email',
    variants: [
      { key: 'control', name: 'Current', weight: 0.5, content: { subject: 'Welcome to Acme', html: '<p>Hello {{name}}, <a href="https://acme.example/start">get started</a></p>' } },
      { key: 'friendly', name: 'Friendly', weight: 0.5, content: { subject: 'Hi {{name}}, glad you are here', html: '<p>Hi {{name}}! <a href="https://acme.example/start?v=2">Start here</a></p>' } },
    ],
    metrics: { primary: 'email_open', secondary: ['email_click'], guardrails: ['unsubscribe'] },
    ...overrides,
  };
}

export function pageExperiment(overrides: Record<string, unknown> = {}) {
  return {
    key: uniqueKey('page'),
    name: 'Help centre landing page',
    assetType: 'page',
    variants: [
      { key: 'control', weight: 0.5, content: { url: 'https://acme.example/help' } },
      { key: 'guided', weight: 0.5, content: { url: 'https://acme.example/help?layout=guided' } },
    ],
    metrics: { primary: 'conversion', secondary: ['csat'] },
    ...overrides,
  };
}

/** Creates and starts an experiment; returns its key. */
export async function runningExperiment(client: Api, body: Record<string, unknown> = emailExperiment()): Promise<string> {
  const created = await client.post('/v1/experiments').send(body);
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  const started = await client.post(`/v1/experiments/${String(body.key)}/start`);
  if (started.status !== 200) throw new Error(`start failed: ${started.status} ${JSON.stringify(started.body)}`);
  return body.key as string;
}

let eventCounter = 0;
export function eventId(): string {
  return `evt-${process.pid}-${Date.now()}-${eventCounter++}`;
}

/**
 * A running email experiment with a clear winner on email_open: 400 customers split by hash, 'friendly'
 * opened by 60% of its customers and 'control' by 15%. Returns the key and the assignments.
 */
export async function experimentWithClearWinner(client: Api, body: Record<string, unknown> = emailExperiment({ analysis: { minSamplePerVariant: 50 } })) {
  const key = await runningExperiment(client, body);
  const customers = Array.from({ length: 400 }, (_, i) => ({ customerId: `${key}-c${i}` }));
  const assigned = await client.post('/v1/assignments/batch').send({ experiment: key, customers });
  if (assigned.status !== 200) throw new Error(`assign failed: ${assigned.status} ${JSON.stringify(assigned.body)}`);
  const assignments = assigned.body.assignments as { customerId: string; variant: string }[];
  const seen: Record<string, number> = {};
  const events = [];
  for (const a of assignments) {
    const rank = (seen[a.variant] = (seen[a.variant] ?? -1) + 1);
    if (a.variant === 'friendly' ? rank % 5 < 3 : rank % 20 < 3) events.push({ eventId: eventId(), customerId: a.customerId, name: 'email.open', experiment: key });
  }
  const sent = await client.post('/v1/events').send({ events });
  if (sent.status !== 202) throw new Error(`events failed: ${sent.status} ${JSON.stringify(sent.body)}`);
  return { key, assignments };
}

/** An SMS experiment: a plain English text and a Persian one (UCS-2), click rate decides, CSAT asked. */
export function smsExperiment(overrides: Record<string, unknown> = {}) {
  return {
    key: uniqueKey('sms'),
    name: 'Post-visit SMS survey',
    assetType: 'sms',
    variants: [
      { key: 'control', name: 'English', weight: 0.5, content: { text: 'Hi {{name}}, how was your visit to Acme? Tell us: {{link}}' } },
      { key: 'persian', name: 'Persian', weight: 0.5, content: { text: '{{name}} عزیز، از بازدید شما متشکریم. نظرتان را بگویید' } },
    ],
    metrics: { primary: 'sms_click', secondary: ['csat'], guardrails: ['unsubscribe'] },
    ...overrides,
  };
}

/** A stored experiment record (as the services read it) for tests of pure logic: a running two-variant email experiment. */
export function experimentRecord(overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  const now = new Date();
  return {
    _id: 'welcome-test',
    name: 'Welcome',
    assetType: 'email',
    variants: [
      { key: 'control', weight: 0.5, content: { subject: 'Hello', html: '<p>Hello</p>' } },
      { key: 'friendly', weight: 0.5, content: { subject: 'Hi', html: '<p>Hi</p>' } },
    ],
    controlVariant: 'control',
    coverage: 1,
    seed: 'welcome-test',
    metrics: { primary: 'email_open', secondary: [], guardrails: [], custom: [] },
    analysis: { alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.05, method: 'frequentist', correction: 'holm', minSamplePerVariant: 100 },
    status: 'running',
    history: [],
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

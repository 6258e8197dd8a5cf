// Test data builders: valid by default, overridable field by field.
import { randomBytes } from 'node:crypto';
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
  const started = await client.post(`/v1/experiments/${body.key}/start`);
  if (started.status !== 200) throw new Error(`start failed: ${started.status} ${JSON.stringify(started.body)}`);
  return body.key as string;
}

let eventCounter = 0;
export function eventId(): string {
  return `evt-${process.pid}-${Date.now()}-${eventCounter++}`;
}

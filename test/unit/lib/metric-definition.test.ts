import assert from 'node:assert/strict';
import { matchesMetricFilter, metricDefinition, metricDefinitionPatch } from '../../../src/lib/metric-definition';

describe('metric definitions', () => {
  it('when a filter uses the targeting operators on properties, then events match exactly as the conditions say', () => {
    const filter = { 'properties.channel': 'email', 'properties.priority': { $in: ['high', 'urgent'] } };
    assert.equal(matchesMetricFilter(filter, { channel: 'email', priority: 'urgent' }), true);
    assert.equal(matchesMetricFilter(filter, { channel: 'email', priority: 'low' }), false);
    assert.equal(matchesMetricFilter(filter, { channel: 'chat', priority: 'high' }), false);
    assert.equal(matchesMetricFilter(filter, undefined), false);
    assert.equal(matchesMetricFilter({ 'properties.hours': { $gte: 24 } }, { hours: 30 }), true);
    assert.equal(matchesMetricFilter({ 'properties.hours': { $gte: 24 } }, { hours: 3 }), false);
    assert.equal(matchesMetricFilter({ 'properties.sla.breached': true }, { sla: { breached: true } }), true);
    assert.equal(matchesMetricFilter({ 'properties.tag': { $exists: false } }, {}), true);
    assert.equal(matchesMetricFilter(undefined, { anything: 1 }), true);
    assert.equal(matchesMetricFilter({}, undefined), true);
  });

  it('when a proportion is parsed, then match defaults to "any" and the window is kept as sent', () => {
    const parsed = metricDefinition.parse({ key: 'retention_d7', name: 'Day-7 retention', kind: 'proportion', direction: 'increase', event: 'login', window: { delay: 'P7D', duration: 'P1D' } });
    assert.equal(parsed.kind === 'proportion' && parsed.match, 'any');
    assert.deepEqual(parsed.kind === 'proportion' && parsed.window, { delay: 'P7D', duration: 'P1D' });
  });

  it('when a definition is wrong, then the issue path names the field', () => {
    const paths = (value: unknown) => {
      const result = metricDefinition.safeParse(value);
      assert.equal(result.success, false);
      return result.error.issues.map((issue) => issue.path.join('.'));
    };
    assert.deepEqual(paths({ key: 'x', name: 'X', kind: 'survey', direction: 'increase', scale: { min: 0, max: 10 }, nps: true, topBox: [9, 10] }), ['topBox']);
    assert.deepEqual(paths({ key: 'x', name: 'X', kind: 'survey', direction: 'increase', scale: { min: 1, max: 5 }, topBox: [1, 2, 3, 4, 5] }), ['topBox']);
    assert.deepEqual(paths({ key: 'x', name: 'X', kind: 'mean', direction: 'increase', event: 'e', value: 'properties.' }), ['value']);
    assert.deepEqual(paths({ key: 'x', name: 'X', kind: 'mean', direction: 'increase', event: 'e', value: 'count', filter: { 'properties.$where': 1 } }), ['filter.properties.$where']);
    assert.deepEqual(paths({ key: 'x', name: 'X', kind: 'mean', direction: 'increase', event: 'e', value: 'count', capping: { type: 'absolute', value: -1 } }), ['capping.value']);
    assert.deepEqual(paths({ key: '1x', name: 'X', kind: 'proportion', direction: 'increase', event: 'e' }), ['key']);
  });

  it('when a PATCH body is empty, then it is refused; null is accepted for optional fields', () => {
    assert.equal(metricDefinitionPatch.safeParse({}).success, false);
    assert.equal(metricDefinitionPatch.safeParse({ description: null, window: null, capping: null }).success, true);
    assert.equal(metricDefinitionPatch.safeParse({ key: 'other' }).success, false);
  });
});

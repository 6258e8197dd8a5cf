import assert from 'node:assert/strict';
import { inMetricWindow, isMature, parseMetricWindow, windowBounds, windowDurationMs } from '../../../src/stats';

const DAY = 86_400_000;
const assignedAt = new Date('2026-03-01T10:00:00Z');
const at = (days: number) => new Date(assignedAt.getTime() + days * DAY);

describe('metric windows and maturity', () => {
  it('when a window is parsed, then the delay defaults to PT0S, may be zero, and no duration means open-ended', () => {
    assert.deepEqual(parseMetricWindow(undefined), { delayMs: 0, durationMs: null });
    assert.deepEqual(parseMetricWindow({}), { delayMs: 0, durationMs: null });
    assert.deepEqual(parseMetricWindow({ delay: 'PT0S', duration: 'P1D' }), { delayMs: 0, durationMs: DAY });
    assert.deepEqual(parseMetricWindow({ delay: 'P7D', duration: 'P1D' }), { delayMs: 7 * DAY, durationMs: DAY });
    assert.deepEqual(parseMetricWindow({ delay: 'P1W', duration: 'PT36H' }), { delayMs: 7 * DAY, durationMs: 1.5 * DAY });
    for (const zero of ['PT0S', 'P0D', 'PT0H0M', 'P0W', 'PT0.0S']) assert.equal(windowDurationMs(zero, true), 0, zero);
  });

  it('when a window is malformed, then a RangeError names delay or duration', () => {
    assert.throws(() => parseMetricWindow({ delay: 'seven days' }), /window\.delay must be an ISO-8601 duration/);
    assert.throws(() => parseMetricWindow({ duration: 'PT0S' }), /window\.duration must be a positive ISO-8601 duration/);
    assert.throws(() => parseMetricWindow({ duration: 'P1M' }), /window\.duration/); // months have no fixed length
    assert.throws(() => parseMetricWindow({ delay: 'P' }), /window\.delay/);
    assert.throws(() => parseMetricWindow({ delay: 'P1DT' }), /window\.delay/);
  });

  it('when day-7 retention is {delay P7D, duration P1D}, then only events in [day 7, day 8) count, and not after the analysis end', () => {
    const span = parseMetricWindow({ delay: 'P7D', duration: 'P1D' });
    assert.deepEqual(windowBounds(assignedAt, span), { start: at(7).getTime(), end: at(8).getTime() });
    const end = at(30);
    assert.equal(inMetricWindow(at(6.99), assignedAt, span, end), false);
    assert.equal(inMetricWindow(at(7), assignedAt, span, end), true);
    assert.equal(inMetricWindow(at(7.5), assignedAt, span, end), true);
    assert.equal(inMetricWindow(at(8), assignedAt, span, end), false);
    assert.equal(inMetricWindow(at(7.5), assignedAt, span, at(7.2)), false);
  });

  it('when the window is open-ended, then every event from the delay to the analysis end counts', () => {
    const span = parseMetricWindow({});
    assert.equal(inMetricWindow(at(-0.01), assignedAt, span, at(10)), false);
    assert.equal(inMetricWindow(assignedAt, assignedAt, span, at(10)), true);
    assert.equal(inMetricWindow(at(10), assignedAt, span, at(10)), true);
    assert.equal(inMetricWindow(at(10.01), assignedAt, span, at(10)), false);
  });

  it('when maturity is asked, then a customer is analysed only once the window has ended (or, open-ended, opened) by the analysis end', () => {
    const churn = parseMetricWindow({ delay: 'P30D', duration: 'P30D' });
    assert.equal(isMature(assignedAt, churn, at(59)), false);
    assert.equal(isMature(assignedAt, churn, at(60)), true);
    const retention = parseMetricWindow({ delay: 'P7D', duration: 'P1D' });
    assert.equal(isMature(assignedAt, retention, at(1)), false); // assigned yesterday: not "retained on day 7"
    assert.equal(isMature(assignedAt, retention, at(8)), true);
    assert.equal(isMature(assignedAt, parseMetricWindow({}), assignedAt), true);
    assert.equal(isMature(assignedAt, parseMetricWindow({ delay: 'P3D' }), at(2)), false);
    assert.equal(isMature(assignedAt.getTime(), parseMetricWindow({ delay: 'P3D' }), at(3).getTime()), true);
  });
});

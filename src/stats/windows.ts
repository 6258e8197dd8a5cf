// Metric windows and maturity (GrowthBook's conversion windows): each customer's window is relative to
// their own assignment, [assignedAt + delay, assignedAt + delay + duration), or open until the analysis
// ends when there is no duration. Events after the analysis end never count. A customer enters a
// windowed metric only once the window has ended by the analysis end (a customer assigned yesterday is
// not "retained on day 7"); without a duration, once it has opened.
import { isoDurationToMs } from '../lib/duration';
import type { MetricWindow, WindowSpan } from './types';
import { fail, requireObject } from './validate';

// A zero ISO-8601 duration ("PT0S", "P0D", "PT0H0M"), which isoDurationToMs refuses (a wait must wait).
const ZERO_DURATION = /^P(?=\d|T\d)(?:0+W)?(?:0+D)?(?:T(?=\d)(?:0+H)?(?:0+M)?(?:0+(?:[.,]0+)?S)?)?$/i;

/** Milliseconds of an ISO-8601 duration of days, weeks, hours, minutes or seconds; null when it is not one. */
export function windowDurationMs(value: string, allowZero: boolean): number | null {
  if (typeof value !== 'string') return null;
  if (ZERO_DURATION.test(value)) return allowZero ? 0 : null;
  return isoDurationToMs(value);
}

/** Parses a window: delay (default PT0S, may be zero) and duration (optional, more than zero). */
export function parseMetricWindow(input: MetricWindow | undefined, field = 'window'): WindowSpan {
  if (input === undefined) return { delayMs: 0, durationMs: null };
  const window = requireObject(input, field);
  let delayMs = 0;
  if (window.delay !== undefined) {
    const parsed = windowDurationMs(window.delay as string, true);
    if (parsed === null) fail(`${field}.delay must be an ISO-8601 duration such as P7D or PT0S (no years or months)`);
    delayMs = parsed;
  }
  let durationMs: number | null = null;
  if (window.duration !== undefined) {
    durationMs = windowDurationMs(window.duration as string, false);
    if (durationMs === null) fail(`${field}.duration must be a positive ISO-8601 duration such as P1D (no years or months)`);
  }
  return { delayMs, durationMs };
}

function time(value: Date | number): number {
  return typeof value === 'number' ? value : value.getTime();
}

/** The window of a customer assigned at `assignedAt`: [start, end), end null when open-ended. */
export function windowBounds(assignedAt: Date | number, span: WindowSpan): { start: number; end: number | null } {
  const start = time(assignedAt) + span.delayMs;
  return { start, end: span.durationMs === null ? null : start + span.durationMs };
}

/** Whether an event at `eventAt` counts for a customer assigned at `assignedAt`, analysed up to `analysisEnd` (inclusive). */
export function inMetricWindow(eventAt: Date | number, assignedAt: Date | number, span: WindowSpan, analysisEnd: Date | number): boolean {
  const at = time(eventAt);
  if (at > time(analysisEnd)) return false;
  const { start, end } = windowBounds(assignedAt, span);
  return at >= start && (end === null || at < end);
}

/** Whether a customer is analysed for a windowed metric at `analysisEnd`: their window has ended (or, open-ended, begun). */
export function isMature(assignedAt: Date | number, span: WindowSpan, analysisEnd: Date | number): boolean {
  const { start, end } = windowBounds(assignedAt, span);
  return (end ?? start) <= time(analysisEnd);
}

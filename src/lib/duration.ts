// ISO-8601 durations (PT4H, P1D, P1W) as milliseconds, parsed by luxon. Years and months are refused:
// their length depends on the calendar, and a wait or an expiry must mean one exact length.
import { Duration } from 'luxon';

export function isoDurationToMs(value: string): number | null {
  // luxon accepts a dangling time designator ("P1DT"); ISO 8601 requires a time part after T.
  if (/T$/i.test(value)) return null;
  const duration = Duration.fromISO(value);
  if (!duration.isValid || duration.years || duration.months || duration.quarters) return null;
  const ms = duration.as('milliseconds');
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

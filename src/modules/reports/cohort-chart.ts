// Geometry of the report's "Lift by assignment cohort" chart: each treatment's relative lift over the
// control, day by day, for the customers assigned up to that day, with its interval as a shaded band.
// Pure: no I/O, no HTML (the template escapes every string).
import { metricLabel } from '../experiments';
import type { Timeseries } from '../results';
import { niceStep, round } from './chart-scale';

export interface CohortSeriesView {
  variant: string;
  /** Palette slot (CSS class series-N). */
  colour: number;
  /** One path each: the band (a closed subpath per run of days with an interval) and the line. */
  band: string;
  line: string;
  /** Days whose lift has no neighbour to join (a single day, or between gaps): a dot and a whisker. */
  dots: { x: number; y: number; y1: number; y2: number }[];
  legendX: number;
  legendY: number;
  legend: string;
}

export interface CohortChartView {
  width: number;
  height: number;
  plotLeft: number;
  plotRight: number;
  plotTop: number;
  plotBottom: number;
  zeroY: number;
  yTicks: { y: number; label: string }[];
  xTicks: { x: number; label: string }[];
  series: CohortSeriesView[];
  title: string;
  desc: string;
  /** Shown instead of the chart when there is nothing to draw. */
  emptyText?: string;
  caption: string;
}

const WIDTH = 640;
const PLOT_LEFT = 64;
const PLOT_RIGHT = WIDTH - 24;
const PLOT_TOP = 16;
const PLOT_BOTTOM = 216;
const LEGEND_COLUMN = 200;
const PALETTE_SIZE = 5;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function percent(value: number, decimals = 1): string {
  const text = `${(value * 100).toFixed(decimals)}%`;
  return value > 0 ? `+${text}` : text;
}

function confidence(alpha: number): string {
  return `${Number(((1 - alpha) * 100).toFixed(1))}%`;
}

/** "Mar 8" for '2025-03-08'. */
function shortDate(date: string): string {
  const [, month, day] = date.split('-');
  return `${MONTHS[Number(month) - 1] ?? month} ${Number(day)}`;
}

/** About `count` evenly spread indices of n, always the first and the last. */
function spread(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let k = 0; k < count; k++) out.add(Math.round((k * (n - 1)) / (count - 1)));
  return [...out];
}

function finite(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Runs of consecutive indices where `ok` holds. */
function runs(n: number, ok: (i: number) => boolean): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  for (let i = 0; i < n; i++) {
    if (ok(i)) current.push(i);
    else if (current.length) {
      out.push(current);
      current = [];
    }
  }
  if (current.length) out.push(current);
  return out;
}

export function buildCohortChart(series: Timeseries): CohortChartView {
  const label = metricLabel(series.metric, series.kind);
  const level = confidence(series.alpha);
  const points = series.points;
  const treatments = points[0]?.comparisons.map((c) => c.variant) ?? [];
  const caption = `Each point is over the customers assigned up to the end of that day (UTC), with everything counted for them so far; an effect that fades as later cohorts join is a novelty effect. Shaded: ${level} confidence interval.`;
  const base = { width: WIDTH, plotLeft: PLOT_LEFT, plotRight: PLOT_RIGHT, plotTop: PLOT_TOP, plotBottom: PLOT_BOTTOM, caption };
  const title = `Relative lift over '${series.controlVariant}' on the ${label} by assignment cohort`;
  const lifts = treatments.map((variant) => points.map((p) => p.comparisons.find((c) => c.variant === variant)));
  const anyLift = lifts.some((list) => list.some((c) => finite(c?.relativeLift)));
  if (points.length === 0 || treatments.length === 0 || !anyLift) {
    const emptyText = points.length === 0 ? 'No customers assigned yet.' : `No relative lift on the ${label} yet: too few customers, or no ${series.kind === 'binomial' ? 'conversions' : 'values'} in '${series.controlVariant}'.`;
    return { ...base, height: 0, zeroY: 0, yTicks: [], xTicks: [], series: [], title, desc: emptyText, emptyText };
  }

  // The y range: every lift, zero, and the latest intervals in full; earlier (wider) intervals only up to
  // as much again on either side, so one early day's huge interval does not flatten the rest. Beyond it
  // the band is cut at the plot's edge.
  const last = points.length - 1;
  const core: number[] = [0];
  const wide: number[] = [];
  for (const list of lifts) {
    list.forEach((c, i) => {
      if (finite(c?.relativeLift)) core.push(c.relativeLift);
      if (c?.relativeCi && finite(c.relativeCi[0]) && finite(c.relativeCi[1])) (i === last ? core : wide).push(...c.relativeCi);
    });
  }
  let low = Math.min(...core);
  let high = Math.max(...core);
  const span = Math.max(high - low, 0.02);
  const wideLow = wide.length ? Math.min(...wide) : low;
  const wideHigh = wide.length ? Math.max(...wide) : high;
  low = Math.min(low, Math.max(low - span, wideLow));
  high = Math.max(high, Math.min(high + span, wideHigh));
  const step = niceStep(high - low, 5);
  const domainLow = Math.floor(low / step) * step;
  const domainHigh = Math.max(Math.ceil(high / step) * step, domainLow + step);
  const yRaw = (value: number) => PLOT_BOTTOM - ((value - domainLow) / (domainHigh - domainLow)) * (PLOT_BOTTOM - PLOT_TOP);
  const y = (value: number) => round(Math.min(PLOT_BOTTOM, Math.max(PLOT_TOP, yRaw(value))));
  const decimals = Math.max(0, -Math.floor(Math.log10(step * 100)));
  const yTicks: CohortChartView['yTicks'] = [];
  for (let t = domainLow; t <= domainHigh + step / 2; t += step) yTicks.push({ y: y(t), label: percent(Math.abs(t) < step / 1e6 ? 0 : t, decimals) });

  const x = (i: number) => round(points.length === 1 ? (PLOT_LEFT + PLOT_RIGHT) / 2 : PLOT_LEFT + (i / last) * (PLOT_RIGHT - PLOT_LEFT));
  const xTicks = spread(points.length, 6).map((i) => ({ x: x(i), label: shortDate(points[i].date) }));
  const halfWidth = points.length === 1 ? 16 : Math.min(6, (PLOT_RIGHT - PLOT_LEFT) / last / 2);

  const columns = Math.max(1, Math.floor((PLOT_RIGHT - PLOT_LEFT) / LEGEND_COLUMN));
  const legendTop = PLOT_BOTTOM + 44;
  const seriesViews = treatments.map((variant, s): CohortSeriesView => {
    const list = lifts[s];
    const ci = (i: number) => list[i]?.relativeCi ?? null;
    const bandParts = runs(points.length, (i) => {
      const interval = ci(i);
      return interval !== null && finite(interval[0]) && finite(interval[1]);
    }).map((run) => {
      if (run.length === 1) {
        const i = run[0];
        const [lo, hi] = ci(i)!;
        return `M${round(x(i) - halfWidth)} ${y(hi)}H${round(x(i) + halfWidth)}V${y(lo)}H${round(x(i) - halfWidth)}Z`;
      }
      const upper = run.map((i, k) => `${k === 0 ? 'M' : 'L'}${x(i)} ${y(ci(i)![1])}`).join('');
      const lower = [...run].reverse().map((i) => `L${x(i)} ${y(ci(i)![0])}`).join('');
      return `${upper}${lower}Z`;
    });
    const liftRuns = runs(points.length, (i) => finite(list[i]?.relativeLift));
    const line = liftRuns
      .filter((run) => run.length > 1)
      .map((run) => run.map((i, k) => `${k === 0 ? 'M' : 'L'}${x(i)} ${y(list[i]!.relativeLift!)}`).join(''))
      .join('');
    const dots = liftRuns
      .filter((run) => run.length === 1)
      .map(([i]) => {
        const interval = ci(i);
        const value = list[i]!.relativeLift!;
        return { x: x(i), y: y(value), y1: y(interval?.[0] ?? value), y2: y(interval?.[1] ?? value) };
      });
    const latest = [...list].reverse().find((c) => finite(c?.relativeLift));
    const legend = latest
      ? `${variant}: ${percent(latest.relativeLift!)}${latest.relativeCi ? ` (${percent(latest.relativeCi[0])} to ${percent(latest.relativeCi[1])})` : ''}`
      : `${variant}: no lift yet`;
    return {
      variant,
      colour: s % PALETTE_SIZE,
      band: bandParts.join(''),
      line,
      dots,
      legendX: PLOT_LEFT + (s % columns) * LEGEND_COLUMN,
      legendY: legendTop + Math.floor(s / columns) * 20,
      legend,
    };
  });

  const first = points[0].date;
  const lastDate = points[last].date;
  const range = points.length === 1 ? `on ${first} (1 day)` : `from ${first} to ${lastDate} (${points.length} days)`;
  const latestText = seriesViews.map((v) => v.legend).join('; ');
  const desc = `Relative lift of each treatment over '${series.controlVariant}' on the ${label}, for the customers assigned up to each day ${range}; shaded: ${level} confidence interval; zero means no difference. Latest, for every customer: ${latestText}.`;
  const legendRows = Math.ceil(treatments.length / columns);
  return {
    ...base,
    height: legendTop + (legendRows - 1) * 20 + 16,
    zeroY: y(0),
    yTicks,
    xTicks,
    series: seriesViews,
    title,
    desc,
  };
}

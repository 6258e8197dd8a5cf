// The report page and the not-found page, as Handlebars templates kept in code so the build ships them.
// Every value goes through {{ }} (HTML-escaped); the page is self-contained: inline CSS and SVG, no script.
import Handlebars from 'handlebars';
import type { ReportView } from './report-view';

const handlebars = Handlebars.create();

const STYLE = `
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430; margin: 0; background: #f6f7f9; }
  main { max-width: 920px; margin: 0 auto; padding: 24px; }
  header p { margin: 4px 0; color: #505a6b; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h2 { font-size: 19px; margin: 32px 0 8px; }
  h3 { font-size: 16px; margin: 24px 0 8px; }
  section, article { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
  .verdict { font-size: 19px; font-weight: 600; border-left: 6px solid #8a94a6; }
  .verdict.ship { border-left-color: #1f8a4c; }
  .verdict.keep_control { border-left-color: #b7791f; }
  .verdict.invalid { border-left-color: #c53030; }
  .badge { display: inline-block; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: 2px 8px; border-radius: 10px; background: #e9ecf1; margin-right: 8px; }
  .reasons { font-size: 14px; font-weight: 400; color: #505a6b; margin: 8px 0 0; padding-left: 20px; }
  .ok { color: #1f8a4c; } .warn { color: #c53030; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
  th { background: #f0f2f5; font-weight: 600; }
  tbody th { background: none; }
  section > h2:first-child { margin-top: 0; }
  td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
  .good { color: #1f8a4c; font-weight: 600; } .bad { color: #c53030; font-weight: 600; } .neutral { color: #505a6b; }
  .muted { color: #6b7485; font-size: 13px; }
  h4 { font-size: 15px; margin: 16px 0 4px; }
  ol.latest { padding-left: 20px; } ol.latest li { margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  svg { max-width: 100%; height: auto; display: block; }
  svg text { font: 12px system-ui, sans-serif; fill: #1d2430; }
  svg .axis { stroke: #8a94a6; stroke-width: 1; }
  svg .grid { stroke: #eef0f3; stroke-width: 1; }
  svg .reference { stroke: #b7791f; stroke-width: 1.5; stroke-dasharray: 5 4; }
  svg .whisker { stroke: #2b6cb0; stroke-width: 2.5; }
  svg .ci-mark.control .whisker { stroke: #6b7485; }
  svg .dot { fill: #2b6cb0; stroke: #fff; stroke-width: 1.5; }
  svg .ci-mark.control .dot { fill: #6b7485; }
  svg .zero { stroke: #505a6b; stroke-width: 1.5; }
  svg .band { stroke: none; fill-opacity: .18; }
  svg .line { fill: none; stroke-width: 2.5; stroke-linejoin: round; }
  svg .point-whisker { stroke-width: 2; }
  svg .series-0 .band, svg .series-0 .swatch, svg .series-0 .point { fill: #2b6cb0; } svg .series-0 .line, svg .series-0 .point-whisker { stroke: #2b6cb0; }
  svg .series-1 .band, svg .series-1 .swatch, svg .series-1 .point { fill: #c05621; } svg .series-1 .line, svg .series-1 .point-whisker { stroke: #c05621; }
  svg .series-2 .band, svg .series-2 .swatch, svg .series-2 .point { fill: #2f855a; } svg .series-2 .line, svg .series-2 .point-whisker { stroke: #2f855a; }
  svg .series-3 .band, svg .series-3 .swatch, svg .series-3 .point { fill: #6b46c1; } svg .series-3 .line, svg .series-3 .point-whisker { stroke: #6b46c1; }
  svg .series-4 .band, svg .series-4 .swatch, svg .series-4 .point { fill: #b83280; } svg .series-4 .line, svg .series-4 .point-whisker { stroke: #b83280; }
`;

const REPORT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{{name}} · Verdict report</title>
<style>{{{style}}}</style>
</head>
<body>
<main>
<header>
  <h1>{{name}}</h1>
  <p>Experiment <code>{{experiment}}</code> · status {{status}} · {{method}} analysis at {{confidence}} confidence ({{correction}} correction) · generated {{generatedAt}}</p>
  {{#if counted}}<p class="counted">{{counted}}</p>{{/if}}
  {{#if hypothesis}}<p>Hypothesis: {{hypothesis}}</p>{{/if}}
</header>

<section class="verdict {{verdict.tone}}" id="verdict" aria-label="Verdict">
  <span class="badge">{{verdict.label}}</span><span class="verdict-sentence">{{verdict.sentence}}</span>
  {{#if verdict.reasons.length}}<ul class="reasons">{{#each verdict.reasons}}<li>{{this}}</li>{{/each}}</ul>{{/if}}
</section>

<section id="health" aria-label="Health checks">
  <h2>Health checks</h2>
  <p class="{{#if health.srmOk}}ok{{else}}warn{{/if}}">{{health.srmText}}</p>
  <table>
    <thead><tr><th scope="col">Variant</th><th scope="col">Customers assigned</th></tr></thead>
    <tbody>{{#each health.units}}<tr><td>{{variant}}</td><td class="num">{{units}}</td></tr>{{/each}}</tbody>
  </table>
  {{#if health.warnings.length}}
  <h3>Warnings</h3>
  <ul class="warnings">{{#each health.warnings}}<li class="warn">{{this}}</li>{{/each}}</ul>
  {{else}}
  <p class="muted">No warnings.</p>
  {{/if}}
</section>

{{#if holdout}}
<section id="holdout" aria-label="Does sending help at all">
  <h2>Does sending help at all?</h2>
  <p>{{holdout.sentence}} {{holdout.assigned}} customers were held out and sent nothing.</p>
  <table>
    <thead><tr><th>Metric</th><th>Sent variant</th><th class="num">Sent</th><th class="num">Held out</th><th class="num">Lift</th><th class="num">p</th></tr></thead>
    <tbody>{{#each holdout.rows}}<tr><td>{{metric}}</td><td>{{variant}}</td><td class="num">{{value}}</td><td class="num">{{holdoutValue}}</td><td class="num">{{lift}}</td><td class="num">{{pValue}}</td></tr>{{/each}}</tbody>
  </table>
  {{#if holdout.reasons.length}}<ul>{{#each holdout.reasons}}<li>{{this}}</li>{{/each}}</ul>{{/if}}
</section>
{{/if}}

<h2>Metrics</h2>
{{#each metrics}}
<article class="metric" id="metric-{{metric}}" aria-label="{{label}}">
  <h3>{{label}} <span class="badge">{{role}}</span></h3>
  <p class="muted">{{test}} · {{direction}}</p>
  {{#if cuped}}<p class="cuped"><span class="badge">CUPED</span> {{cuped}}</p>{{/if}}
  <svg class="chart" role="img" viewBox="0 0 {{chart.width}} {{chart.height}}" width="{{chart.width}}" height="{{chart.height}}" xmlns="http://www.w3.org/2000/svg">
    <title>{{chart.title}}</title>
    {{#each chart.ticks}}<line class="grid" x1="{{x}}" x2="{{x}}" y1="{{../chart.plotTop}}" y2="{{../chart.plotBottom}}"/>
    <text class="tick" x="{{x}}" y="{{../chart.plotBottom}}" dy="16" text-anchor="middle">{{label}}</text>{{/each}}
    <line class="axis" x1="{{chart.plotLeft}}" x2="{{chart.plotRight}}" y1="{{chart.plotBottom}}" y2="{{chart.plotBottom}}"/>
    {{#if chart.reference}}<line class="reference" x1="{{chart.reference.x}}" x2="{{chart.reference.x}}" y1="{{chart.plotTop}}" y2="{{chart.plotBottom}}"><title>control: {{chart.reference.label}}</title></line>{{/if}}
    {{#each chart.marks}}<g class="ci-mark{{#if isControl}} control{{/if}}" data-variant="{{variant}}">
      <title>{{variant}}: {{valueText}} ({{intervalText}})</title>
      <text class="variant-label" x="{{../chart.plotLeft}}" dx="-10" y="{{labelY}}" text-anchor="end">{{variant}}</text>
      <line class="whisker" x1="{{x1}}" x2="{{x2}}" y1="{{y}}" y2="{{y}}"/>
      <path class="whisker" d="M{{x1}} {{y}}m0 -6v12M{{x2}} {{y}}m0 -6v12" fill="none"/>
      <circle class="dot" cx="{{x}}" cy="{{y}}" r="5"/>
    </g>{{/each}}
    {{#each chart.empty}}<text class="variant-label" x="{{../chart.plotLeft}}" dx="-10" y="{{labelY}}" text-anchor="end">{{variant}}</text>
    <text class="muted" x="{{../chart.plotLeft}}" dx="8" y="{{labelY}}">no data yet</text>{{/each}}
    <text class="axis-label" x="{{chart.axisLabelX}}" y="{{chart.axisLabelY}}" text-anchor="middle">{{chart.axisLabel}}</text>
  </svg>
  <table class="numbers">
    <thead><tr>
      <th scope="col">Variant</th><th scope="col">Customers</th><th scope="col">Value</th><th scope="col">{{../confidence}} CI</th>
      <th scope="col">Lift vs control</th><th scope="col">Lift CI</th><th scope="col">p-value</th><th scope="col">Adjusted p</th>
      {{#if hasChance}}<th scope="col">Chance to beat control</th>{{/if}}
      {{#if hasRobustness}}<th scope="col">Robustness check</th>{{/if}}
      <th scope="col">Result</th>
    </tr></thead>
    <tbody>
    {{#each rows}}<tr>
      <th scope="row">{{variant}}{{#if isControl}} <span class="muted">(control)</span>{{/if}}</th>
      <td class="num">{{units}}</td>
      <td class="num">{{value}}{{#if extra}}<br><span class="muted">{{extra}}</span>{{/if}}</td>
      <td class="num">{{ci}}</td><td class="num">{{lift}}</td><td class="num">{{liftCi}}</td>
      <td class="num">{{pValue}}</td><td class="num">{{adjustedPValue}}</td>
      {{#if ../hasChance}}<td class="num">{{chance}}</td>{{/if}}
      {{#if ../hasRobustness}}<td>{{robustness}}</td>{{/if}}
      <td class="{{outcomeClass}}">{{outcome}}</td>
    </tr>{{/each}}
    </tbody>
  </table>
  {{#if survey}}
  <table class="survey">
    <caption class="muted">Survey responses</caption>
    <thead><tr><th scope="col">Variant</th><th scope="col">Assigned</th><th scope="col">Answered</th><th scope="col">Response rate</th><th scope="col">Scores (score: customers)</th></tr></thead>
    <tbody>{{#each survey}}<tr><td>{{variant}}</td><td class="num">{{assigned}}</td><td class="num">{{responders}}</td><td class="num">{{rate}}</td><td>{{distribution}}</td></tr>{{/each}}</tbody>
  </table>
  {{/if}}
  {{#if comments}}
  <h3>What customers wrote</h3>
  <p class="muted">Themes: the words and two-word phrases each variant's comments use more than the others' (weighted log-odds ratio with an informative Dirichlet prior, Monroe, Colaresi &amp; Quinn 2008; z ≥ 1.96 in bold).</p>
  {{#each comments}}
  <div class="comments" data-variant="{{variant}}">
    <h4>{{variant}} <span class="muted">({{count}} customers commented)</span></h4>
    {{#if themes.length}}<p class="themes">Themes: {{#each themes}}{{#if strong}}<strong>{{term}}</strong>{{else}}{{term}}{{/if}} <span class="muted">(z {{z}}, {{count}}×)</span>{{#unless @last}} · {{/unless}}{{/each}}</p>{{/if}}
    {{#if latest.length}}
    <ol class="latest">{{#each latest}}<li><span class="muted">{{at}} · score {{score}}</span><br>{{text}}</li>{{/each}}</ol>
    <p><a href="{{fullListUrl}}">All comments of {{variant}}</a></p>
    {{else}}<p class="muted">No comments yet.</p>{{/if}}
  </div>
  {{/each}}
  {{/if}}
</article>
{{else}}
<p class="muted">No metrics yet.</p>
{{/each}}

{{#if cohortChart}}
<section id="cohort-lift" aria-label="Lift by assignment cohort">
  <h2>Lift by assignment cohort</h2>
  <p class="muted">{{cohortChart.caption}}</p>
  {{#if cohortChart.emptyText}}
  <p class="muted">{{cohortChart.emptyText}}</p>
  {{else}}
  <svg class="chart cohort-chart" role="img" aria-labelledby="cohort-lift-title cohort-lift-desc" viewBox="0 0 {{cohortChart.width}} {{cohortChart.height}}" width="{{cohortChart.width}}" height="{{cohortChart.height}}" xmlns="http://www.w3.org/2000/svg">
    <title id="cohort-lift-title">{{cohortChart.title}}</title>
    <desc id="cohort-lift-desc">{{cohortChart.desc}}</desc>
    {{#each cohortChart.yTicks}}<line class="grid" x1="{{../cohortChart.plotLeft}}" x2="{{../cohortChart.plotRight}}" y1="{{y}}" y2="{{y}}"/>
    <text class="tick" x="{{../cohortChart.plotLeft}}" dx="-8" y="{{y}}" dy="4" text-anchor="end">{{label}}</text>{{/each}}
    {{#each cohortChart.xTicks}}<text class="tick" x="{{x}}" y="{{../cohortChart.plotBottom}}" dy="18" text-anchor="middle">{{label}}</text>{{/each}}
    <line class="axis" x1="{{cohortChart.plotLeft}}" x2="{{cohortChart.plotRight}}" y1="{{cohortChart.plotBottom}}" y2="{{cohortChart.plotBottom}}"/>
    {{#each cohortChart.series}}<g class="series series-{{colour}}" data-variant="{{variant}}">
      <title>{{legend}}</title>
      {{#if band}}<path class="band" d="{{band}}"/>{{/if}}
      {{#if line}}<path class="line" d="{{line}}"/>{{/if}}
      {{#each dots}}<line class="point-whisker" x1="{{x}}" x2="{{x}}" y1="{{y1}}" y2="{{y2}}"/><circle class="point" cx="{{x}}" cy="{{y}}" r="4"/>{{/each}}
      <rect class="swatch" x="{{legendX}}" y="{{legendY}}" width="12" height="12" transform="translate(0 -10)"/>
      <text class="legend" x="{{legendX}}" dx="18" y="{{legendY}}">{{legend}}</text>
    </g>{{/each}}
    <line class="zero" x1="{{cohortChart.plotLeft}}" x2="{{cohortChart.plotRight}}" y1="{{cohortChart.zeroY}}" y2="{{cohortChart.zeroY}}"><title>no difference</title></line>
  </svg>
  {{/if}}
</section>
{{/if}}

{{#if segments}}
<section id="segments" aria-label="Segments">
  <h2>Segments</h2>
  {{#each segments}}
  <h3>By {{dimension}}</h3>
  <p class="muted">{{warning}}</p>
  <table class="numbers segments">
    <thead><tr><th scope="col">{{dimension}}</th><th scope="col">Metric</th><th scope="col">Variant</th><th scope="col">Customers</th><th scope="col">Value</th><th scope="col">Lift vs control</th><th scope="col">p-value</th><th scope="col">Adjusted p</th><th scope="col">Result</th></tr></thead>
    <tbody>{{#each rows}}<tr><td>{{slice}}</td><td>{{metric}}</td><td>{{variant}}</td><td class="num">{{units}}</td><td class="num">{{value}}</td><td class="num">{{lift}}</td><td class="num">{{pValue}}</td><td class="num">{{adjustedPValue}}</td><td class="{{outcomeClass}}">{{outcome}}</td></tr>{{/each}}</tbody>
  </table>
  {{/each}}
</section>
{{/if}}

<section id="history" aria-label="History">
  <h2>History</h2>
  <table>
    <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Details</th></tr></thead>
    <tbody>{{#each history}}<tr><td class="num">{{at}}</td><td>{{action}}</td><td>{{actor}}</td><td class="muted">{{details}}</td></tr>{{/each}}</tbody>
  </table>
</section>
<p class="muted">This page was shared with a link that expires. Numbers are computed from the live data each time it is opened.</p>
</main>
</body>
</html>
`;

const NOT_FOUND = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex, nofollow"><title>Report not found</title><style>{{{style}}}</style></head>
<body><main><section><h1>Report not found</h1><p>This report link is not valid, or it has expired. Ask the person who shared it for a new link.</p></section></main></body>
</html>
`;

const COMMENTS = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow">
<title>{{scope}}: {{name}}</title><style>{{{style}}}</style></head>
<body><main>
<header><h1>{{name}}</h1><p>{{scope}}, newest first.</p><p><a href="{{reportUrl}}">Back to the report</a></p></header>
<section>
{{#if items.length}}
<ol class="latest">{{#each items}}<li><span class="muted">{{at}} · {{score}}</span><br>{{text}}</li>{{/each}}</ol>
{{else}}<p class="muted">No more comments.</p>{{/if}}
{{#if nextUrl}}<p><a href="{{nextUrl}}" rel="next">Older comments</a></p>{{/if}}
</section>
</main></body>
</html>
`;

export interface CommentsPageView {
  name: string;
  /** What is listed: "csat comments of variant friendly". */
  scope: string;
  reportUrl: string;
  items: { at: string; score: string; text: string }[];
  nextUrl?: string;
}

const reportTemplate = handlebars.compile<ReportView & { style: string }>(REPORT);
const commentsTemplate = handlebars.compile<CommentsPageView & { style: string }>(COMMENTS);

export function renderCommentsPage(view: CommentsPageView): string {
  return commentsTemplate({ ...view, style: STYLE });
}
const notFoundTemplate = handlebars.compile<{ style: string }>(NOT_FOUND);

export function renderReportPage(view: ReportView): string {
  return reportTemplate({ ...view, style: STYLE });
}

export function renderNotFoundPage(): string {
  return notFoundTemplate({ style: STYLE });
}

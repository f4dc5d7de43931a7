/**
 * HTML writer: one self-contained file (no network; a Content-Security-Policy forbids any) with
 * the run summary, charts (cases by area and status; benchmark bars with implementations side by
 * side), a filterable, searchable table of cases whose rows expand to the detail, expected vs
 * actual and the messages exchanged, the requirement coverage, and the benchmark numbers.
 *
 * The table is rendered here, not in the browser, so the report reads without JavaScript; the
 * inlined script (`html-client.ts`) only filters, expands and draws the charts with Chart.js,
 * whose UMD build is inlined from node_modules.
 * @module
 */
import { benchmarkCharts, formatParams, type BenchmarkChart } from './benchmarks.js';
import { chartLibrarySource } from './chart-library.js';
import { failureMessage, formatDuration, formatValue } from './format.js';
import { HTML_CLIENT_SCRIPT } from './html-client.js';
import { HTML_STYLE } from './html-style.js';
import { CASE_LEVELS, isEvidenceMessage, RESULT_SCHEMA, type CaseResult, type CaseStatus, type ResultSummary } from './model.js';
import { groupByArea, requirementCoverage, toRuns, totalSummary, type ReportInput, type Run } from './runs.js';

/** Options of {@link toHtml}. */
export type HtmlOptions = {
  /**
   * Chart.js source to inline; defaults to the installed UMD build. Golden tests pass a stub so
   * the expected output does not hold 200 kB of minified library.
   */
  chartLibrary?: string;
};

/** Escapes text and attribute values (both quote styles). */
function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// Inline scripts end at the first `</script`, whatever the JS syntax around it.
function inlineScript(src: string): string {
  return src.replace(/<\/(script)/gi, '<\\/$1');
}

const STATUS_ORDER: readonly CaseStatus[] = ['pass', 'fail', 'error', 'waived', 'skip'];

function verdict(s: ResultSummary): string {
  if (s.fail + s.error === 0) return `<div class="verdict ok">PASSED · ${s.pass} of ${s.total} passed</div>`;
  const parts = [s.fail > 0 ? `${s.fail} failed` : '', s.error > 0 ? `${s.error} error${s.error === 1 ? '' : 's'}` : ''].filter(Boolean);
  return `<div class="verdict bad">FAILED · ${esc(parts.join(', '))}</div>`;
}

function runCard(run: Run): string {
  const d = run.doc;
  const b = d.backend;
  const rows: [string, string][] = [
    ['peer', run.label],
    ['command', b.command ?? ''],
    ['mode', b.mode ?? ''],
    ['device type', b.deviceType ?? ''],
    ['features', b.features ?? ''],
    ['protocol features', b.protocolFeatures ?? ''],
    ['started', d.startedAt],
    ['duration', formatDuration(d.durationMs)],
    ['tool', `${d.tool.name} ${d.tool.version}`],
  ];
  for (const [k, v] of Object.entries(d.platform)) if (v !== undefined && v !== null) rows.push([k, String(v)]);
  const mono = new Set(['command', 'features', 'protocol features']);
  const dl = rows
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${mono.has(k) ? `<code>${esc(v)}</code>` : esc(v)}</dd>`)
    .join('');
  return `<section class="card"><h2>${esc(run.label)}</h2><dl class="meta">${dl}</dl></section>`;
}

function tiles(s: ResultSummary): string {
  const tile = (cls: string, n: number, label: string): string => `<div class="tile ${cls}"><div class="n">${n}</div><div class="l">${label}</div></div>`;
  const bar = STATUS_ORDER.filter((st) => s[st] > 0)
    .map((st) => `<span style="width:${((s[st] / Math.max(1, s.total)) * 100).toFixed(2)}%;background:var(--${st})" title="${st}: ${s[st]}"></span>`)
    .join('');
  return `<section class="card"><div class="tiles">${tile('total', s.total, 'cases')}${tile('pass', s.pass, 'passed')}${tile('fail', s.fail, 'failed')}${tile('error', s.error, 'errors')}${tile('waived', s.waived, 'waived')}${tile('skip', s.skip, 'skipped')}</div><div class="ratebar" aria-hidden="true">${bar}</div></section>`;
}

function areaChartData(runs: readonly Run[]): { labels: string[]; series: { status: CaseStatus; counts: number[] }[] } {
  const groups = groupByArea(runs);
  const multi = runs.length > 1;
  const labels = groups.map((g) => (multi ? `${g.run.label}: ${g.area}` : g.area));
  const series = STATUS_ORDER.map((status) => ({ status, counts: groups.map((g) => g.cases.filter((c) => c.status === status).length) })).filter((s) =>
    s.counts.some((n) => n > 0),
  );
  return { labels, series };
}

function chartsSection(areaCount: number, benches: BenchmarkChart[]): string {
  const areaHeight = Math.max(160, areaCount * 30 + 70);
  const area = `<figure class="card"><h2>Cases by area</h2><div class="chart-box" style="height:${areaHeight}px"><canvas id="chart-areas" role="img" aria-label="cases by area and status"></canvas></div></figure>`;
  const bench =
    benches.length === 0
      ? '<figure class="card"><h2>Benchmarks</h2><p class="empty">No benchmarks in this run.</p></figure>'
      : benches
          .map(
            (b, i) =>
              `<figure class="card"><h2>Benchmarks (${esc(b.unit)})</h2><div class="chart-box" style="height:300px"><canvas id="chart-bench-${i}" role="img" aria-label="benchmarks in ${esc(b.unit)}"></canvas></div>${
                b.series.length > 1 ? `<p class="chart-note">Bars side by side: ${b.series.map(esc).join(' vs ')}, measured under the same conditions.</p>` : ''
              }</figure>`,
          )
          .join('');
  return `<div class="charts">${area}${bench}</div>`;
}

function evidenceList(c: CaseResult): string {
  if (c.evidence.length === 0) return '';
  const items = c.evidence
    .map((e) => {
      const at = e.at === undefined ? '' : `+${Math.round(e.at * 10) / 10} ms`;
      if (isEvidenceMessage(e)) {
        const dir = e.dir === 'sent' ? '→ sent' : '← received';
        return `<li class="${e.dir}"><span class="at">${esc(at)}</span><span class="dir">${dir}</span><span class="msg">${esc(e.message)}</span></li>`;
      }
      return `<li class="note"><span class="at">${esc(at)}</span><span class="dir">• note</span><span class="msg">${esc(e.note)}</span></li>`;
    })
    .join('');
  return `<div class="evidence"><h3>Evidence (${c.evidence.length})</h3><ol class="ev">${items}</ol></div>`;
}

function detailCell(c: CaseResult): string {
  const parts: string[] = [];
  // The row already shows the requirements and the boxes below show expected vs actual, so the
  // detail is all the text this cell needs.
  if (c.detail) parts.push(`<p class="detail-text">${esc(c.detail)}</p>`);
  if (c.expectation === 'xpass') parts.push(`<p class="detail-text"><strong>${esc(failureMessage(c))}</strong></p>`);
  if (c.expected !== undefined || c.actual !== undefined) {
    const exp = (c.expected ?? []).map((e) => `<li>${esc(e)}</li>`).join('');
    parts.push(
      `<div class="xa"><div class="exp"><h3>Expected${(c.expected?.length ?? 0) > 1 ? ' (one of)' : ''}</h3><ul>${exp}</ul></div><div class="act"><h3>Actual</h3><pre>${esc(c.actual ?? '')}</pre></div></div>`,
    );
  }
  parts.push(evidenceList(c));
  if (c.expectation !== undefined) parts.push(`<p class="chart-note">On the known-failure list: ${c.expectation === 'xfail' ? 'failed as listed' : 'passed although listed'}.</p>`);
  const body = parts.join('');
  return body === '' ? '<p class="empty">Nothing more was recorded for this case.</p>' : body;
}

function caseRows(runs: readonly Run[]): string {
  const multi = runs.length > 1;
  let n = 0;
  return runs
    .flatMap((run) =>
      run.doc.cases.map((c) => {
        const id = `case-${++n}`;
        const search = [c.id, c.title, c.area, c.level, c.status, c.detail, ...c.requirements, multi ? run.label : ''].join(' ').toLowerCase();
        const reqs = c.requirements.map((r) => `<span class="tag">${esc(r)}</span>`).join('');
        const runCell = multi ? `<td>${esc(run.label)}</td>` : '';
        const row = `<tr class="case" id="${id}" tabindex="0" aria-expanded="false" aria-controls="${id}-detail" data-status="${c.status}" data-level="${c.level}" data-run="${esc(run.label)}" data-search="${esc(search)}"><td aria-hidden="true">▸</td><td><span class="badge ${c.status}">${c.status}</span></td>${runCell}<td><div class="cid">${esc(c.id)}</div><div class="ctitle">${esc(c.title)}</div></td><td>${esc(c.area)}</td><td class="lvl">${c.level}</td><td>${reqs}</td><td class="num">${esc(formatDuration(c.durationMs))}</td></tr>`;
        const detail = `<tr class="detail" id="${id}-detail" hidden><td colspan="${multi ? 8 : 7}">${detailCell(c)}</td></tr>`;
        return row + detail;
      }),
    )
    .join('\n');
}

function casesSection(runs: readonly Run[], s: ResultSummary): string {
  const multi = runs.length > 1;
  const btn = (filter: string, label: string, count: number, pressed = false): string =>
    `<button type="button" data-filter="${filter}" aria-pressed="${pressed}">${label}<span class="c">${count}</span></button>`;
  const seg = [btn('all', 'All', s.total, true), btn('failing', 'Failing', s.fail + s.error), btn('pass', 'Passed', s.pass), btn('waived', 'Waived', s.waived), btn('skip', 'Skipped', s.skip)].join('');
  const levels = `<select id="level-filter" aria-label="level"><option value="">All levels</option>${CASE_LEVELS.map((l) => `<option value="${l}">${l}</option>`).join('')}</select>`;
  const runSel = multi ? `<select id="run-filter" aria-label="run"><option value="">All peers</option>${runs.map((r) => `<option value="${esc(r.label)}">${esc(r.label)}</option>`).join('')}</select>` : '';
  const head = `<tr><th></th><th>Status</th>${multi ? '<th>Peer</th>' : ''}<th>Case</th><th>Area</th><th>Level</th><th>Requirements</th><th class="num">Duration</th></tr>`;
  return `<section class="card" id="cases"><h2>Cases</h2><div class="toolbar"><div class="seg" id="status-filter" role="group" aria-label="status">${seg}</div>${levels}${runSel}<input type="search" id="search" placeholder="Search id, title, requirement, detail…" aria-label="search cases"><span class="shown" id="shown"></span></div><table class="cases"><thead>${head}</thead><tbody>\n${caseRows(runs)}\n</tbody></table><p class="empty" id="no-match" hidden>No case matches the filter.</p></section>`;
}

function coverageSection(runs: readonly Run[]): string {
  const cov = requirementCoverage(runs);
  if (cov.length === 0) return '<section class="card" id="coverage"><h2>Requirement coverage</h2><p class="empty">No case names a requirement.</p></section>';
  // Row ids follow the same numbering as caseRows, so coverage links land on the right row.
  const rowId = new Map<string, string>();
  let n = 0;
  for (const run of runs) for (const c of run.doc.cases) rowId.set(`${run.label}\u0000${c.id}`, `case-${++n}`);
  const multi = runs.length > 1;
  const failing = cov.filter((r) => r.status === 'fail' || r.status === 'error').length;
  const passing = cov.filter((r) => r.status === 'pass').length;
  const rows = cov
    .map((r) => {
      const cases = r.cases
        .map((c) => `<a class="case-link" href="#${rowId.get(`${c.run}\u0000${c.id}`) ?? ''}"><span class="badge ${c.status}">${c.status}</span> <code>${esc(multi ? `${c.run}: ${c.id}` : c.id)}</code></a>`)
        .join('<br>');
      return `<tr><td><code>${esc(r.requirement)}</code></td><td><span class="badge ${r.status}">${r.status}</span></td><td>${cases}</td></tr>`;
    })
    .join('\n');
  return `<section class="card" id="coverage"><h2>Requirement coverage</h2><p class="cov-summary">${cov.length} requirements checked: ${passing} fully passing, ${failing} with a failing case.</p><table><thead><tr><th>Requirement</th><th>Worst status</th><th>Cases</th></tr></thead><tbody>\n${rows}\n</tbody></table></section>`;
}

function benchmarkTable(runs: readonly Run[]): string {
  const multi = runs.length > 1;
  const rows = runs.flatMap((run) =>
    run.doc.benchmarks.map(
      (b) =>
        `<tr>${multi ? `<td>${esc(run.label)}</td>` : ''}<td>${esc(b.name)}</td><td><code>${esc(formatParams(b.params))}</code></td><td class="num">${esc(formatValue(b.value))}</td><td>${esc(b.unit)}</td></tr>`,
    ),
  );
  if (rows.length === 0) return '';
  return `<section class="card" id="benchmarks"><h2>Benchmark numbers</h2><table><thead><tr>${multi ? '<th>Peer</th>' : ''}<th>Benchmark</th><th>Parameters</th><th class="num">Value</th><th>Unit</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></section>`;
}

/** Renders results as one self-contained HTML page. */
export function toHtml(report: ReportInput, options: HtmlOptions = {}): string {
  const runs = toRuns(report);
  const s = totalSummary(runs);
  const multi = runs.length > 1;
  // Several runs share the charts: the run label becomes one more benchmark parameter.
  const benches = benchmarkCharts(runs.flatMap((r) => r.doc.benchmarks.map((b) => (multi ? { ...b, params: { ...b.params, peer: r.label } } : b))));
  const areas = areaChartData(runs);
  const data = JSON.stringify({ areas, benchmarks: benches }).replace(/</g, '\\u003c');
  const title = `vhostlab report · ${runs.map((r) => r.label).join(', ')} · ${s.fail + s.error === 0 ? 'passed' : `${s.fail + s.error} failing`}`;
  const tool = runs[0]?.doc.tool;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="${esc(tool ? `${tool.name} ${tool.version}` : 'vhostlab')}">
<title>${esc(title)}</title>
<style>${HTML_STYLE}</style>
</head>
<body>
<header class="top"><h1>vhostlab<small>vhost-user conformance report</small></h1>${verdict(s)}</header>
<main>
<div class="runs">${runs.map(runCard).join('')}</div>
${tiles(s)}
${chartsSection(areas.labels.length, benches)}
${casesSection(runs, s)}
${coverageSection(runs)}
${benchmarkTable(runs)}
</main>
<footer>${esc(RESULT_SCHEMA)} · written by ${esc(tool ? `${tool.name} ${tool.version}` : 'vhostlab')} · charts by Chart.js (MIT)</footer>
<script type="application/json" id="vhl-data">${data}</script>
<script>${inlineScript(options.chartLibrary ?? chartLibrarySource())}</script>
<script>${inlineScript(HTML_CLIENT_SCRIPT)}</script>
</body>
</html>
`;
}

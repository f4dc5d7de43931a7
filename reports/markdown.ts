/**
 * Markdown summary for `$GITHUB_STEP_SUMMARY` (GitHub-flavoured Markdown): a verdict line, the
 * totals per run, a table of failures with requirement and expected vs actual, the evidence of
 * each failure folded in `<details>`, what was waived or skipped, and the benchmarks with
 * implementations side by side and the goals they meet or miss.
 *
 * GitHub refuses a step summary over 1 MiB, so the summary is kept under a byte budget: past
 * it, the evidence blocks go first, then failure rows beyond what fits, each cut said in the
 * text (the JSON and HTML reports keep everything).
 * @module
 */
import { benchmarkCharts, benchmarkGoals } from './benchmarks.js';
import { evidenceLines, formatDuration, formatValue } from './format.js';
import { isFailing, type CaseResult } from './model.js';
import { toRuns, totalSummary, type ReportInput, type Run } from './runs.js';

// Control characters (other than newlines) would be invisible or garble a terminal; show them.
function visible(s: string): string {
  return s.replace(/[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// One table cell: nothing may open HTML, emphasis, links or a new cell/row.
function cell(s: string): string {
  return visible(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|])/g, '\\$1')
    .replace(/\r?\n/g, '<br>');
}

function code(s: string): string {
  return s.includes('`') || s.includes('|') || /[\r\n]/.test(s) ? cell(s) : `\`${s}\``;
}

// A fence longer than any backtick run inside, so evidence cannot close it early.
function fenced(lines: string[]): string {
  const longest = Math.max(2, ...lines.join('\n').match(/`+/g)?.map((m) => m.length) ?? [0]);
  const fence = '`'.repeat(longest + 1);
  return [fence, ...lines.map(visible), fence].join('\n');
}

function peer(run: Run): string {
  const b = run.doc.backend;
  const more = [b.mode, b.deviceType].filter((x) => x !== undefined && x !== '');
  return more.length > 0 ? `${run.label} (${more.join(', ')})` : run.label;
}

function verdict(runs: readonly Run[]): string {
  const s = totalSummary(runs);
  if (s.total === 0) {
    const figures = runs.reduce((n, r) => n + r.doc.benchmarks.length, 0);
    if (figures > 0) {
      const missed = runs.flatMap((r) => benchmarkGoals(r.doc.benchmarks)).filter((g) => !g.met).length;
      return `## 📊 vhostlab: benchmarks (${figures} figures${missed > 0 ? `, ${missed} ${missed === 1 ? 'goal' : 'goals'} not met` : ''})`;
    }
  }
  const bad: string[] = [];
  if (s.fail > 0) bad.push(`${s.fail} failed`);
  if (s.error > 0) bad.push(`${s.error} ${s.error === 1 ? 'error' : 'errors'}`);
  const extra = [s.waived > 0 ? `${s.waived} waived` : '', s.skip > 0 ? `${s.skip} skipped` : ''].filter(Boolean).join(', ');
  const tail = `${s.total} cases${extra ? `; ${extra}` : ''}`;
  return bad.length > 0 ? `## ❌ vhostlab: ${bad.join(', ')} (${tail})` : `## ✅ vhostlab: all ${s.pass} passed (${tail})`;
}

function failureRow(run: Run, c: CaseResult, multi: boolean): string {
  const expected = c.expected === undefined ? '' : c.expected.map(cell).join('<br>or ');
  const actual = c.actual !== undefined ? cell(c.actual) : cell(c.detail);
  const note = c.actual !== undefined && c.detail ? `<br>*${cell(c.detail)}*` : '';
  const what = `${code(c.id)}<br>${cell(c.title)}${c.status === 'error' ? ' **(error)**' : ''}${c.expectation === 'xpass' ? ' **(unexpected pass)**' : ''}${note}`;
  const cols = [what, c.level, cell(c.requirements.join(', ')), expected, actual];
  return `| ${(multi ? [cell(run.label), ...cols] : cols).join(' | ')} |`;
}

/** GitHub's limit for one step summary is 1 MiB; stay below it with room for other steps' text. */
export const MARKDOWN_MAX_BYTES = 1000 * 1024;

/** Options of {@link toMarkdown}. */
export type MarkdownOptions = {
  /** Byte budget of the summary (UTF-8); default {@link MARKDOWN_MAX_BYTES}. */
  maxBytes?: number;
};

/** Renders results as a Markdown summary (ending in a newline), within `maxBytes`. */
export function toMarkdown(report: ReportInput, options: MarkdownOptions = {}): string {
  const runs = toRuns(report);
  const max = options.maxBytes ?? MARKDOWN_MAX_BYTES;
  const full = render(runs, { evidence: true });
  if (bytes(full) <= max) return full;
  const lean = render(runs, { evidence: false });
  if (bytes(lean) <= max) return lean;
  // Even without evidence too long: keep as many failure rows as fit (bisection on the count).
  let lo = 0;
  let hi = runs.reduce((n, r) => n + r.doc.cases.filter((c) => isFailing(c.status)).length, 0);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (bytes(render(runs, { evidence: false, maxFailureRows: mid })) <= max) lo = mid;
    else hi = mid - 1;
  }
  return render(runs, { evidence: false, maxFailureRows: lo });
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

type RenderOptions = { evidence: boolean; maxFailureRows?: number };

function render(runs: readonly Run[], opts: RenderOptions): string {
  const multi = runs.length > 1;
  const out: string[] = [verdict(runs), ''];
  const anyCases = runs.some((r) => r.doc.cases.length > 0);

  // A bench run has figures and no cases: a table of zero counts would only be noise.
  if (anyCases || runs.every((r) => r.doc.benchmarks.length === 0)) {
    out.push('| peer | total | ✅ pass | ❌ fail | 💥 error | ⏭️ skip | 🏳️ waived | duration |', '|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const run of runs) {
      const s = run.doc.summary;
      out.push(`| ${cell(peer(run))} | ${s.total} | ${s.pass} | ${s.fail} | ${s.error} | ${s.skip} | ${s.waived} | ${formatDuration(run.doc.durationMs)} |`);
    }
    out.push('');
  }

  const failures = runs.flatMap((run) => run.doc.cases.filter((c) => isFailing(c.status)).map((c) => ({ run, c })));
  if (failures.length > 0) {
    const shown = failures.slice(0, opts.maxFailureRows ?? failures.length);
    out.push('### Failures', '');
    out.push(`| ${multi ? 'peer | ' : ''}case | level | requirements | expected | actual |`, `|${multi ? '---|' : ''}---|---|---|---|---|`);
    for (const { run, c } of shown) out.push(failureRow(run, c, multi));
    out.push('');
    if (shown.length < failures.length) {
      out.push(`*${failures.length - shown.length} more failures are not shown: the summary would pass GitHub's size limit. The JSON and HTML reports list them all.*`, '');
    }
    if (!opts.evidence) out.push('*Evidence is left out to keep this summary within GitHub\'s size limit; the HTML report shows it.*', '');
    for (const { run, c } of opts.evidence ? failures : []) {
      const ev = evidenceLines(c);
      if (ev.length === 0) continue;
      const label = cell(multi ? `${run.label}: ${c.id}` : c.id);
      out.push(`<details><summary>Evidence: ${label}</summary>`, '', fenced(ev), '', '</details>', '');
    }
  }

  const others = runs.flatMap((run) => run.doc.cases.filter((c) => c.status === 'waived' || c.status === 'skip').map((c) => ({ run, c })));
  if (others.length > 0) {
    out.push(`<details><summary>Waived and skipped (${others.length})</summary>`, '');
    out.push(`| ${multi ? 'peer | ' : ''}case | status | reason |`, `|${multi ? '---|' : ''}---|---|---|`);
    for (const { run, c } of others) {
      const cols = [code(c.id), c.status, cell(c.detail)];
      out.push(`| ${(multi ? [cell(run.label), ...cols] : cols).join(' | ')} |`);
    }
    out.push('', '</details>', '');
  }

  for (const run of runs) {
    if (run.doc.benchmarks.length === 0) continue;
    out.push(multi ? `### Benchmarks: ${cell(run.label)}` : '### Benchmarks', '');
    for (const chart of benchmarkCharts(run.doc.benchmarks)) {
      const named = chart.series.length > 1 || chart.series[0] !== '';
      const heads = named ? chart.series.map(cell) : ['value'];
      const ratio = named && chart.series.length === 2;
      out.push(`| benchmark (${cell(chart.unit)}) | ${heads.join(' | ')}${ratio ? ` | ${heads[0]} / ${heads[1]}` : ''} |`);
      out.push(`|---|${heads.map(() => '--:|').join('')}${ratio ? '--:|' : ''}`);
      for (const g of chart.groups) {
        const vals = g.values.map((v) => (v === null ? '–' : formatValue(v)));
        const [a, b] = g.values;
        const r = ratio ? ` | ${a !== null && b !== null && b !== 0 ? `${((a / b) * 100).toFixed(1)} %` : '–'}` : '';
        out.push(`| ${cell(g.label)} | ${vals.join(' | ')}${r} |`);
      }
      out.push('');
    }
    const goals = benchmarkGoals(run.doc.benchmarks);
    if (goals.length > 0) {
      out.push('| goal | value | at least | |', '|---|--:|--:|---|');
      for (const g of goals) {
        const label = g.where === '' ? g.name : `${g.name} (${g.where})`;
        out.push(`| ${cell(label)} | ${formatValue(g.value)} ${cell(g.unit)}${g.lowerBound ? ' (lower bound)' : ''} | ${formatValue(g.goal)} | ${g.met ? '✅ met' : '❌ not met'} |`);
      }
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

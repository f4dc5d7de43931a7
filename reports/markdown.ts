/**
 * Markdown summary for `$GITHUB_STEP_SUMMARY` (GitHub-flavoured Markdown): a verdict line, the
 * totals per run, a table of failures with requirement and expected vs actual, the evidence of
 * each failure folded in `<details>`, what was waived or skipped, and the benchmarks with
 * implementations side by side.
 * @module
 */
import { benchmarkCharts } from './benchmarks.js';
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

/** Renders results as a Markdown summary (ending in a newline). */
export function toMarkdown(report: ReportInput): string {
  const runs = toRuns(report);
  const multi = runs.length > 1;
  const out: string[] = [verdict(runs), ''];

  out.push('| peer | total | ✅ pass | ❌ fail | 💥 error | ⏭️ skip | 🏳️ waived | duration |', '|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const run of runs) {
    const s = run.doc.summary;
    out.push(`| ${cell(peer(run))} | ${s.total} | ${s.pass} | ${s.fail} | ${s.error} | ${s.skip} | ${s.waived} | ${formatDuration(run.doc.durationMs)} |`);
  }
  out.push('');

  const failures = runs.flatMap((run) => run.doc.cases.filter((c) => isFailing(c.status)).map((c) => ({ run, c })));
  if (failures.length > 0) {
    out.push('### Failures', '');
    out.push(`| ${multi ? 'peer | ' : ''}case | level | requirements | expected | actual |`, `|${multi ? '---|' : ''}---|---|---|---|---|`);
    for (const { run, c } of failures) out.push(failureRow(run, c, multi));
    out.push('');
    for (const { run, c } of failures) {
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
  }
  return `${out.join('\n').trimEnd()}\n`;
}

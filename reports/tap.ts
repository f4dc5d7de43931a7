/**
 * TAP 14 writer (testanything.org/tap-version-14-specification): one test point per case, YAML
 * diagnostics for everything that is not a plain pass, benchmarks as comments. Several runs
 * become one subtest each, so a TAP consumer still sees one plan per run.
 *
 * Status mapping: pass → `ok`; fail, error → `not ok` with `severity`; skip → `ok … # SKIP`;
 * waived → `not ok … # TODO` (TAP's "expected to fail", which does not fail the stream).
 * YAML scalars are written as JSON strings, which YAML 1.2 reads as double-quoted scalars, so no
 * detail text can break the block.
 * @module
 */
import { formatParams } from './benchmarks.js';
import { evidenceLines, formatValue } from './format.js';
import type { CaseResult, ResultDocument } from './model.js';
import { toRuns, type ReportInput } from './runs.js';

// Descriptions and directive reasons: one line, with `#` and `\` escaped as TAP 14 asks.
function escapeTap(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

function yamlBlock(c: CaseResult): string[] {
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['  ---'];
  if (c.status === 'fail' || c.status === 'error') lines.push(`  message: ${q(c.detail || c.title)}`, `  severity: ${c.status}`);
  else if (c.detail) lines.push(`  message: ${q(c.detail)}`);
  lines.push(`  area: ${q(c.area)}`, `  level: ${c.level}`, `  requirements: [${c.requirements.map(q).join(', ')}]`, `  duration_ms: ${c.durationMs}`);
  if (c.expectation !== undefined) lines.push(`  expectation: ${c.expectation}`);
  if (c.expected !== undefined) lines.push('  expected:', ...c.expected.map((e) => `    - ${q(e)}`));
  if (c.actual !== undefined) lines.push(`  actual: ${q(c.actual)}`);
  const ev = evidenceLines(c);
  if (ev.length > 0) lines.push('  evidence:', ...ev.map((e) => `    - ${q(e)}`));
  lines.push('  ...');
  return lines;
}

function testPoint(c: CaseResult, n: number): string[] {
  const desc = `${n} - ${escapeTap(c.id)} - ${escapeTap(c.title)}`;
  switch (c.status) {
    case 'pass':
      return [`ok ${desc}`];
    case 'skip':
      return [`ok ${desc} # SKIP ${escapeTap(c.detail)}`.trimEnd()];
    case 'waived':
      return [`not ok ${desc} # TODO waived: ${escapeTap(c.detail || 'on the waiver list')}`, ...yamlBlock(c)];
    default:
      return [`not ok ${desc}`, ...yamlBlock(c)];
  }
}

function runLines(doc: ResultDocument): string[] {
  const b = doc.backend;
  const peer = [b.profile, b.mode, b.deviceType].filter((x) => x !== undefined && x !== '').join(', ');
  const lines = [`# ${doc.tool.name} ${doc.tool.version}; peer: ${escapeTap(peer || 'unnamed')}; started ${doc.startedAt}`, `1..${doc.cases.length}`];
  doc.cases.forEach((c, i) => lines.push(...testPoint(c, i + 1)));
  for (const bm of doc.benchmarks) {
    lines.push(`# benchmark ${escapeTap(bm.name)} [${escapeTap(formatParams(bm.params))}]: ${formatValue(bm.value)} ${escapeTap(bm.unit)}`);
  }
  const s = doc.summary;
  lines.push(`# pass ${s.pass}, fail ${s.fail}, error ${s.error}, skip ${s.skip}, waived ${s.waived}`);
  return lines;
}

/** Renders results as a TAP 14 stream (ending in a newline). */
export function toTap(report: ReportInput): string {
  const runs = toRuns(report);
  if (runs.length === 1) return ['TAP version 14', ...runLines(runs[0].doc), ''].join('\n');
  const out = ['TAP version 14', `1..${runs.length}`];
  runs.forEach((run, i) => {
    out.push(`# Subtest: ${escapeTap(run.label)}`, ...runLines(run.doc).map((l) => `    ${l}`));
    const failing = run.doc.cases.some((c) => c.status === 'fail' || c.status === 'error');
    out.push(`${failing ? 'not ok' : 'ok'} ${i + 1} - ${escapeTap(run.label)}`);
  });
  return [...out, ''].join('\n');
}

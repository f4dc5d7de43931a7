/**
 * JUnit XML writer, in the dialect GitHub Actions reporters, GitLab and Jenkins read (the
 * Ant/Surefire shape that Jenkins' junit-4 schema describes): one `<testsuite>` per area (per
 * run and area when several runs are merged), one `<testcase>` per case with `classname` = the
 * area, a `<failure>` whose message is the requirement ids plus expected vs actual (h2spec's
 * junit reporter does the same), and the evidence in `<system-out>`.
 *
 * Mapping of statuses: fail → `<failure>`, error → `<error>`, skip → `<skipped>`, waived →
 * `<skipped message="waived: …">` (a waived case must not fail a CI job). The document validates
 * against `reports/schema/junit.xsd`.
 * @module
 */
import { evidenceLines, failureMessage } from './format.js';
import type { CaseResult, ResultDocument } from './model.js';
import { groupByArea, toRuns, totalSummary, type ReportInput, type Run } from './runs.js';
import { xmlAttr, xmlText } from './xml.js';

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

// Ant writes local time without a zone and Jenkins' schema allows nothing else; we write UTC
// (the exact instant is also in the `startedAt` property).
function antTimestamp(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '1970-01-01T00:00:00' : d.toISOString().slice(0, 19);
}

function properties(doc: ResultDocument): [string, string][] {
  const props: [string, string][] = [
    ['tool', `${doc.tool.name} ${doc.tool.version}`],
    ['startedAt', doc.startedAt],
  ];
  for (const [k, v] of Object.entries(doc.backend)) if (v !== undefined) props.push([`backend.${k}`, String(v)]);
  for (const [k, v] of Object.entries(doc.platform)) if (v !== undefined) props.push([`platform.${k}`, String(v)]);
  return props;
}

function failureBody(c: CaseResult): string {
  const lines = [c.title, `Requirements: ${c.requirements.join(', ') || '(none)'} (${c.level})`];
  if (c.expectation === 'xpass') lines.push('Unexpected pass: the case is on the known-failure list.');
  if (c.detail) lines.push(`Detail: ${c.detail}`);
  if (c.expected !== undefined) {
    lines.push(c.expected.length > 1 ? 'Expected one of:' : 'Expected:');
    for (const e of c.expected) lines.push(`  - ${e}`);
  }
  if (c.actual !== undefined) lines.push('Actual:', ...c.actual.split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}

function testcase(c: CaseResult, classname: string): string {
  const open = `    <testcase name="${xmlAttr(c.id)}" classname="${xmlAttr(classname)}" time="${seconds(c.durationMs)}"`;
  const inner: string[] = [];
  if (c.status === 'fail') {
    inner.push(`      <failure message="${xmlAttr(failureMessage(c))}" type="${c.level}">${xmlText(failureBody(c))}</failure>`);
  } else if (c.status === 'error') {
    inner.push(`      <error message="${xmlAttr(failureMessage(c))}" type="error">${xmlText(failureBody(c))}</error>`);
  } else if (c.status === 'skip') {
    inner.push(`      <skipped message="${xmlAttr(c.detail || 'skipped')}"/>`);
  } else if (c.status === 'waived') {
    inner.push(`      <skipped message="${xmlAttr(`waived: ${c.detail || 'on the waiver list'}`)}"/>`);
  }
  if (c.evidence.length > 0) inner.push(`      <system-out>${xmlText(evidenceLines(c).join('\n'))}</system-out>`);
  return inner.length === 0 ? `${open}/>` : `${open}>\n${inner.join('\n')}\n    </testcase>`;
}

function suite(run: Run, area: string, cases: CaseResult[], multi: boolean): string {
  const name = multi ? `${run.label}: ${area}` : area;
  const classname = multi ? `${run.label}.${area}` : area;
  const count = (pred: (c: CaseResult) => boolean): number => cases.filter(pred).length;
  const time = cases.reduce((t, c) => t + c.durationMs, 0);
  const attrs = [
    `name="${xmlAttr(name)}"`,
    `tests="${cases.length}"`,
    `failures="${count((c) => c.status === 'fail')}"`,
    `errors="${count((c) => c.status === 'error')}"`,
    `skipped="${count((c) => c.status === 'skip' || c.status === 'waived')}"`,
    `time="${seconds(time)}"`,
    `timestamp="${antTimestamp(run.doc.startedAt)}"`,
  ].join(' ');
  const props = properties(run.doc)
    .map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`)
    .join('\n');
  return [`  <testsuite ${attrs}>`, '    <properties>', props, '    </properties>', ...cases.map((c) => testcase(c, classname)), '  </testsuite>'].join('\n');
}

/** Renders results as a JUnit XML document (UTF-8, ending in a newline). */
export function toJUnit(report: ReportInput): string {
  const runs = toRuns(report);
  const multi = runs.length > 1;
  const total = totalSummary(runs);
  const time = runs.reduce((t, r) => t + r.doc.durationMs, 0);
  const head = `<testsuites name="vhostlab" tests="${total.total}" failures="${total.fail}" errors="${total.error}" time="${seconds(time)}">`;
  const suites = groupByArea(runs).map((g) => suite(g.run, g.area, g.cases, multi));
  return ['<?xml version="1.0" encoding="UTF-8"?>', head, ...suites, '</testsuites>', ''].join('\n');
}

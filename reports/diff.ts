/**
 * Run-to-run comparison: which cases newly fail, which were fixed, which appeared or vanished,
 * and which benchmarks moved beyond noise. `vhostlab report diff` exits 1 when
 * {@link hasRegression} says so, which makes the diff usable as a CI gate between a baseline and
 * a candidate.
 *
 * Cases are matched by id; benchmarks by name, unit and every parameter. A case that is new in
 * the candidate and fails counts as a regression too (it is a failure the baseline did not
 * have), and is listed under `added` with its status.
 * @module
 */
import { benchmarkKey, formatParams, higherIsBetter } from './benchmarks.js';
import { formatValue } from './format.js';
import { isFailing, type BenchmarkResult, type CaseStatus, type ResultDocument } from './model.js';

/** Default relative change below which a benchmark difference is noise (10 %). */
export const DEFAULT_NOISE_THRESHOLD = 0.1;

/** A case present in both runs whose status changed. */
export type CaseChange = { id: string; title: string; before: CaseStatus; after: CaseStatus };

/** A case present in one run only. */
export type CaseRef = { id: string; title: string; status: CaseStatus };

/** A benchmark that moved by more than the threshold. */
export type BenchmarkChange = {
  /** `name [params] unit`, the identity used for matching. */
  key: string;
  name: string;
  unit: string;
  params: BenchmarkResult['params'];
  before: number;
  after: number;
  /** `(after - before) / before`; `Infinity` when `before` is 0. */
  change: number;
  /** True when the change is in the worse direction for this unit. */
  regression: boolean;
};

/** The differences between two runs. */
export type ResultDiff = {
  /** Passing (or skipped, waived) before, failing or erroring now. */
  newFailures: CaseChange[];
  /** Failing or erroring before, passing now. */
  fixes: CaseChange[];
  /** Other status changes (e.g. pass → skip, fail → waived): not regressions, still worth seeing. */
  changed: CaseChange[];
  /** Cases only in the new run, with their status. */
  added: CaseRef[];
  /** Cases only in the old run. */
  removed: CaseRef[];
  /** Benchmarks whose value moved beyond the threshold, worst regression first. */
  benchmarkChanges: BenchmarkChange[];
  /** The threshold that was applied. */
  threshold: number;
};

/** Options of {@link diffResults}. */
export type DiffOptions = {
  /** Relative benchmark change treated as noise, e.g. 0.1 for 10 %. */
  threshold?: number;
};

/** Compares an old (baseline) run with a new (candidate) run. */
export function diffResults(old: ResultDocument, now: ResultDocument, options: DiffOptions = {}): ResultDiff {
  const threshold = options.threshold ?? DEFAULT_NOISE_THRESHOLD;
  if (!(threshold >= 0)) throw new RangeError(`diffResults: threshold must be >= 0, got ${threshold}`);
  const before = new Map(old.cases.map((c) => [c.id, c]));
  const after = new Map(now.cases.map((c) => [c.id, c]));
  const diff: ResultDiff = { newFailures: [], fixes: [], changed: [], added: [], removed: [], benchmarkChanges: [], threshold };

  for (const c of now.cases) {
    const o = before.get(c.id);
    if (o === undefined) {
      diff.added.push({ id: c.id, title: c.title, status: c.status });
      continue;
    }
    if (o.status === c.status) continue;
    const change: CaseChange = { id: c.id, title: c.title, before: o.status, after: c.status };
    if (isFailing(c.status) && !isFailing(o.status)) diff.newFailures.push(change);
    else if (isFailing(o.status) && c.status === 'pass') diff.fixes.push(change);
    else diff.changed.push(change);
  }
  for (const o of old.cases) if (!after.has(o.id)) diff.removed.push({ id: o.id, title: o.title, status: o.status });

  const oldBench = new Map(old.benchmarks.map((b) => [benchmarkKey(b), b]));
  for (const b of now.benchmarks) {
    const key = benchmarkKey(b);
    const o = oldBench.get(key);
    if (o === undefined) continue;
    const change = o.value === 0 ? (b.value === 0 ? 0 : Infinity) : (b.value - o.value) / Math.abs(o.value);
    if (Math.abs(change) <= threshold) continue;
    const regression = higherIsBetter(b) ? b.value < o.value : b.value > o.value;
    diff.benchmarkChanges.push({ key, name: b.name, unit: b.unit, params: b.params, before: o.value, after: b.value, change, regression });
  }
  diff.benchmarkChanges.sort((a, b) => Number(b.regression) - Number(a.regression) || Math.abs(b.change) - Math.abs(a.change));
  return diff;
}

/** True when the new run is worse: a new failure, an added failing case, or a benchmark regression. */
export function hasRegression(diff: ResultDiff): boolean {
  return diff.newFailures.length > 0 || diff.added.some((c) => isFailing(c.status)) || diff.benchmarkChanges.some((b) => b.regression);
}

function percent(change: number): string {
  return Number.isFinite(change) ? `${change > 0 ? '+' : ''}${(change * 100).toFixed(1)} %` : 'from 0';
}

/** Renders a diff as plain text for a terminal or a CI log (ending in a newline). */
export function formatDiff(diff: ResultDiff): string {
  const out: string[] = [];
  const section = (title: string, lines: string[]): void => {
    if (lines.length > 0) out.push(`${title} (${lines.length}):`, ...lines.map((l) => `  ${l}`), '');
  };
  section('New failures', diff.newFailures.map((c) => `${c.id}  ${c.before} -> ${c.after}  ${c.title}`));
  section('Fixed', diff.fixes.map((c) => `${c.id}  ${c.before} -> ${c.after}  ${c.title}`));
  section('Other status changes', diff.changed.map((c) => `${c.id}  ${c.before} -> ${c.after}  ${c.title}`));
  section('Added', diff.added.map((c) => `${c.id}  ${c.status}${isFailing(c.status) ? ' (new failure)' : ''}  ${c.title}`));
  section('Removed', diff.removed.map((c) => `${c.id}  was ${c.status}  ${c.title}`));
  section(
    `Benchmark changes beyond ${(diff.threshold * 100).toFixed(0)} %`,
    diff.benchmarkChanges.map(
      (b) =>
        `${b.regression ? 'WORSE ' : 'better'} ${b.name} [${formatParams(b.params)}]: ${formatValue(b.before)} -> ${formatValue(b.after)} ${b.unit} (${percent(b.change)})`,
    ),
  );
  out.push(hasRegression(diff) ? 'Verdict: REGRESSION' : out.length === 0 ? 'Verdict: no differences' : 'Verdict: no regression');
  // Titles come from result files: keep their control characters off the terminal.
  return `${out.join('\n').replace(/[\u0000-\u0009\u000B-\u001F\u007F]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

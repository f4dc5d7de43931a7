/**
 * Small text formatting shared by the writers (durations, numbers, statuses), so every format
 * prints the same fact the same way.
 * @module
 */
import { isEvidenceMessage, type CaseResult } from './model.js';

/** `850 ms`, `5.0 s`, `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** A benchmark value with at most 6 significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

/**
 * The one-line reason of a failing case: its requirements, then expected vs actual when the
 * case recorded them, else its detail.
 */
export function failureMessage(c: CaseResult): string {
  const reqs = c.requirements.length > 0 ? `${c.requirements.join(', ')}: ` : '';
  const xpass = c.expectation === 'xpass' ? 'passed although on the known-failure list; ' : '';
  if (c.expected !== undefined || c.actual !== undefined) {
    const exp = c.expected === undefined || c.expected.length === 0 ? '?' : c.expected.length === 1 ? c.expected[0] : `one of: ${c.expected.join(' / ')}`;
    return `${reqs}${xpass}expected ${exp}; actual ${c.actual ?? '?'}`;
  }
  return `${reqs}${xpass}${c.detail || c.status}`;
}

/**
 * A case's evidence as plain lines: `-> sent`, `<- recv` and `*  note`, with the time offset
 * when recorded. Used where a format has no richer structure (JUnit system-out, TAP, Markdown).
 */
export function evidenceLines(c: CaseResult): string[] {
  return c.evidence.map((e) => {
    const at = e.at === undefined ? '' : `[+${Math.round(e.at * 10) / 10} ms] `;
    if (isEvidenceMessage(e)) return `${e.dir === 'sent' ? '-> sent' : '<- recv'} ${at}${e.message}`;
    return `*  note ${at}${e.note}`;
  });
}

/**
 * Verdict helpers for the data-plane cases: a shared check returns `{expected, actual}` when the
 * peer broke the rule and `undefined` when it kept it (STYLE §21), and these turn that into a
 * case {@link Verdict}.
 * @module
 */
import type { Verdict } from '../model.js';

/** What a failed check saw: the acceptable outcomes and the observed one. */
export interface Mismatch {
  expected: string[];
  actual: string;
}

/** A shared check's result: `undefined` when the rule held. */
export type CheckResult = Mismatch | undefined;

/** A passing verdict. */
export const pass = (detail?: string): Verdict => (detail === undefined ? { status: 'pass' } : { status: 'pass', detail });

/** A failing verdict with one or more acceptable outcomes. */
export const fail = (expected: string | string[], actual: string): Verdict => ({
  status: 'fail', expected: Array.isArray(expected) ? expected : [expected], actual,
});

/** A skipped verdict. */
export const skip = (reason: string): Verdict => ({ status: 'skip', reason });

/** Builds a {@link Mismatch}. */
export const mismatch = (expected: string | string[], actual: string): Mismatch => ({
  expected: Array.isArray(expected) ? expected : [expected], actual,
});

/** The first failing check of several, as a verdict; pass when all held. */
export function verdictOf(...checks: CheckResult[]): Verdict {
  for (const c of checks) if (c) return fail(c.expected, c.actual);
  return pass();
}

/**
 * Case selection by id prefix (STYLE §18, h2spec): `--only framing/` keeps the cases whose id
 * starts with one of the prefixes, `--skip` then drops those starting with one of its prefixes.
 * A prefix that matches nothing is reported, so a typo does not silently select zero cases.
 * @module
 */
import type { ConformanceCase } from '../model.js';

/** Which cases to run. */
export interface Selection {
  only?: readonly string[];
  skip?: readonly string[];
}

/** The selected cases, in catalogue order, and prefixes that matched no case. */
export interface SelectionResult {
  cases: ConformanceCase[];
  unmatched: string[];
}

/** Applies `--only` and `--skip`. */
export function selectCases(all: readonly ConformanceCase[], sel: Selection): SelectionResult {
  const only = sel.only ?? [];
  const skip = sel.skip ?? [];
  const unmatched = [...only, ...skip].filter((p) => !all.some((c) => c.id.startsWith(p)));
  const cases = all.filter((c) =>
    (only.length === 0 || only.some((p) => c.id.startsWith(p))) && !skip.some((p) => c.id.startsWith(p)));
  return { cases, unmatched };
}

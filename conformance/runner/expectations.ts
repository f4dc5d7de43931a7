/**
 * Per-target expectation lists (STYLE §23, protobuf failure lists, undici expectation.json):
 * `conformance/expectations/<profile>.json` lists the cases a back-end is known to fail (or that
 * cannot run against it), each with a reason citing the spec. The comparison is exact: a listed
 * `fail` that fails is waived (`xfail`), a listed `fail` that passes fails the run (`xpass`:
 * the list is stale), an unlisted failure fails the run. A listed `skip` is not run.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { CaseResult } from '../../reports/index.js';
import { ProfileError } from '../profiles/load-profile.js';

/** One entry of an expectation list. */
export interface ExpectationEntry {
  /** A case id (exact, not a prefix). */
  readonly id: string;
  readonly status: 'fail' | 'skip';
  /** One line citing the spec and, for a deviation, where the back-end's source shows it. */
  readonly reason: string;
}

/** Loads and checks an expectation list; `knownIds` are the catalogue's case ids. */
export function loadExpectations(path: string, knownIds: ReadonlySet<string>): ExpectationEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ProfileError(path, undefined, `cannot read the expectation list: ${(err as Error).message}`);
  }
  return checkExpectations(raw, path, knownIds);
}

/** Checks a parsed expectation list. Throws {@link ProfileError} naming the bad entry. */
export function checkExpectations(raw: unknown, source: string, knownIds: ReadonlySet<string>): ExpectationEntry[] {
  const list = (raw as { expectations?: unknown } | null)?.expectations;
  if (!Array.isArray(list)) throw new ProfileError(source, 'expectations', 'must be an array');
  const seen = new Set<string>();
  return list.map((e: unknown, i) => {
    const field = `expectations[${i}]`;
    const o = e as Partial<ExpectationEntry> | null;
    if (typeof o !== 'object' || o === null) throw new ProfileError(source, field, 'must be an object');
    if (typeof o.id !== 'string' || !knownIds.has(o.id)) throw new ProfileError(source, `${field}.id`, `no case has the id ${JSON.stringify(o.id)}`);
    if (o.status !== 'fail' && o.status !== 'skip') throw new ProfileError(source, `${field}.status`, 'must be "fail" or "skip"');
    if (typeof o.reason !== 'string' || o.reason.trim().length < 10) throw new ProfileError(source, `${field}.reason`, 'must say why, citing the spec');
    if (seen.has(o.id)) throw new ProfileError(source, `${field}.id`, `${o.id} is listed twice`);
    seen.add(o.id);
    return { id: o.id, status: o.status, reason: o.reason };
  });
}

/**
 * Applies the list entry for a case (if any) to its result: `fail`+failed → waived/xfail;
 * `fail`+passed → fail/xpass. Errors are never waived: an error is a suite problem, not a known
 * deviation of the back-end. Returns a new result.
 */
export function applyExpectation(result: CaseResult, entry: ExpectationEntry | undefined): CaseResult {
  if (!entry || entry.status !== 'fail') return result;
  if (result.status === 'fail') {
    return { ...result, status: 'waived', expectation: 'xfail', detail: `expected failure: ${entry.reason}\n${result.detail}` };
  }
  if (result.status === 'pass') {
    return {
      ...result, status: 'fail', expectation: 'xpass',
      detail: `unexpected pass: the expectation list says this case fails (${entry.reason}); remove the entry if the back-end was fixed`,
    };
  }
  return result;
}

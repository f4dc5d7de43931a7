/**
 * A seeded, bounded fuzz campaign over a fast-check arbitrary (STYLE §32/§33): search until a
 * {@link Finding} is thrown or the budget (`runs` or `timeMs`) is spent, then replay the failing
 * input by its fast-check path and shrink it (within `shrinkTimeMs`). Counts executions for the
 * execs/s figure. Errors that are not findings (the peer became unreachable, a bug) end the
 * campaign and are rethrown as they are.
 * @module
 */
import fc from 'fast-check';
import { Finding, isFinding } from './finding.js';
import type { KnownFindings, KnownHit } from './known.js';

/** Progress of a campaign. */
export interface CampaignProgress {
  readonly phase: 'search' | 'shrink';
  readonly execs: number;
  readonly execsPerSec: number;
  readonly elapsedMs: number;
}

/** Options of {@link runCampaign}. */
export interface CampaignOptions<T> {
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs one input against the target; throws a {@link Finding} when an oracle fires. */
  readonly execute: (input: T) => Promise<void>;
  readonly seed: number;
  /** Inputs to try (default: unbounded when `timeMs` is given, else 100). */
  readonly runs?: number;
  /** Time budget of the search (ms). */
  readonly timeMs?: number;
  /** Time budget of the shrinking (default 60 s). */
  readonly shrinkTimeMs?: number;
  /** Skip shrinking. */
  readonly noShrink?: boolean;
  /**
   * Findings of these classes are counted and passed over, in the search and while shrinking
   * (a smaller input must not turn the bug being shrunk into a known one).
   */
  readonly known?: KnownFindings;
  /** Called the first time each known class is met. */
  readonly onKnown?: (hit: KnownHit) => void;
  readonly onProgress?: (p: CampaignProgress) => void;
}

/** The known-findings options a fuzzer passes through to its campaign. */
export type KnownOptions = Pick<CampaignOptions<unknown>, 'known' | 'onKnown'>;

/** The defined known-findings options of `o`, to spread into {@link runCampaign}'s options. */
export const knownOptions = (o: KnownOptions): KnownOptions => ({
  ...(o.known !== undefined ? { known: o.known } : {}), ...(o.onKnown !== undefined ? { onKnown: o.onKnown } : {}),
});

/**
 * The budget every live fuzzer takes and hands to its campaign unchanged: runs or search time,
 * shrinking, progress and known findings (see {@link CampaignOptions}).
 */
export type CampaignBudget = Pick<CampaignOptions<unknown>, 'runs' | 'timeMs' | 'shrinkTimeMs' | 'noShrink' | 'onProgress' | 'known' | 'onKnown'>;

/** The defined budget options of `o`, to spread into {@link runCampaign}'s options. */
export const budgetOptions = (o: CampaignBudget): CampaignBudget => ({
  ...(o.runs !== undefined ? { runs: o.runs } : {}), ...(o.timeMs !== undefined ? { timeMs: o.timeMs } : {}),
  ...(o.shrinkTimeMs !== undefined ? { shrinkTimeMs: o.shrinkTimeMs } : {}), ...(o.noShrink ? { noShrink: true } : {}),
  ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}), ...knownOptions(o),
});

/** What a campaign found. */
export interface CampaignFinding<T> {
  readonly finding: Finding;
  /** The shrunk input (the last one that failed). */
  readonly input: T;
  /** fast-check replay path of `input`. */
  readonly path: string;
  /** The input as first found, before shrinking. */
  readonly unshrunk: T;
  readonly execsToFind: number;
  readonly timeToFindMs: number;
  readonly shrinks: number;
}

/** The outcome of a campaign. */
export interface CampaignResult<T> {
  readonly seed: number;
  /** Every execution, shrinking included. */
  readonly execs: number;
  /** Executions of the search phase. */
  readonly searchExecs: number;
  /** Search executions per second. */
  readonly execsPerSec: number;
  readonly elapsedMs: number;
  /** Known classes met, with how often (empty without {@link CampaignOptions.known}). */
  readonly known: readonly KnownHit[];
  readonly finding?: CampaignFinding<T>;
}

/** Runs a campaign. Rethrows any error of `execute` that is not a {@link Finding}. */
export async function runCampaign<T>(o: CampaignOptions<T>): Promise<CampaignResult<T>> {
  const started = performance.now();
  let execs = 0;
  let phase: CampaignProgress['phase'] = 'search';
  let last: { finding: Finding; input: T } | undefined;
  const hits = new Map<string, KnownHit>();
  // fast-check's time limits race a running execution and abandon it, but a live execution keeps
  // going (it may kill and restart the peer). Each check waits for the abandoned one to finish,
  // so nothing touches the peer after the campaign returns, and its outcome is ignored.
  let inFlight: Promise<void> | undefined;
  let accepting = true;
  const settle = async (): Promise<void> => {
    accepting = false;
    while (inFlight) await inFlight;
    accepting = true;
  };
  const prop = fc.asyncProperty(o.arbitrary, async (input) => {
    const run = execute(input);
    const tracked = run.then(() => undefined, () => undefined);
    inFlight = tracked;
    void tracked.then(() => {
      if (inFlight === tracked) inFlight = undefined;
    });
    return run;
  });
  const execute = async (input: T): Promise<void> => {
    if (!accepting) return;
    execs++;
    const elapsedMs = performance.now() - started;
    o.onProgress?.({ phase, execs, execsPerSec: execs / Math.max(0.001, elapsedMs / 1000), elapsedMs });
    try {
      await o.execute(input);
    } catch (err) {
      const known = isFinding(err) ? o.known?.match(err) : undefined;
      if (known !== undefined) {
        const seen = hits.get(known.signature);
        hits.set(known.signature, { label: known.label, signature: known.signature, count: (seen?.count ?? 0) + 1 });
        if (seen === undefined) o.onKnown?.(hits.get(known.signature)!);
        return;
      }
      // While shrinking, only the failure being shrunk counts: a smaller input that fails
      // differently is another bug, not a smaller version of this one.
      if (isFinding(err) && phase === 'shrink' && last !== undefined && err.kind !== last.finding.kind) return;
      if (isFinding(err) && accepting) last = { finding: err, input };
      throw err;
    }
  };
  const unbounded = 2 ** 31 - 1;
  const search = await fc.check(prop, {
    seed: o.seed,
    numRuns: o.runs ?? (o.timeMs !== undefined ? unbounded : 100),
    ...(o.timeMs !== undefined ? { interruptAfterTimeLimit: o.timeMs } : {}),
    markInterruptAsFailure: false,
    endOnFailure: true,
  });
  await settle();
  const searchExecs = execs;
  const searchMs = performance.now() - started;
  const rate = searchExecs / Math.max(0.001, searchMs / 1000);
  // fast-check calls a run cut off by the time limit before any input completed a failure with no
  // error; for a campaign it is simply a budget spent without a finding.
  const cutOffEmpty = search.interrupted && (search.errorInstance === null || search.errorInstance === undefined);
  const known = (): KnownHit[] => [...hits.values()];
  if (!search.failed || cutOffEmpty) return { seed: o.seed, execs, searchExecs, execsPerSec: rate, elapsedMs: searchMs, known: known() };
  if (last === undefined || !isFinding(search.errorInstance)) throw search.errorInstance;
  const first = last;
  let path = search.counterexamplePath ?? '';
  let shrinks = 0;
  if (!o.noShrink && search.counterexamplePath) {
    phase = 'shrink';
    const shrunk = await fc.check(prop, {
      seed: o.seed, path: search.counterexamplePath, endOnFailure: false,
      interruptAfterTimeLimit: o.shrinkTimeMs ?? 60_000, markInterruptAsFailure: false,
    });
    await settle();
    if (shrunk.failed && !isFinding(shrunk.errorInstance) && shrunk.errorInstance != null) throw shrunk.errorInstance;
    if (shrunk.failed && isFinding(shrunk.errorInstance)) {
      path = shrunk.counterexamplePath ?? path;
      shrinks = shrunk.numShrinks;
    }
  }
  const end = last ?? first;
  return {
    seed: o.seed, execs, searchExecs, execsPerSec: rate, elapsedMs: performance.now() - started, known: known(),
    finding: { finding: end.finding, input: end.input, unshrunk: first.input, path, execsToFind: searchExecs, timeToFindMs: searchMs, shrinks },
  };
}

/**
 * The conformance runner: starts the peer, probes it, then runs each selected case with its own
 * time limit and context, and turns verdicts into `CaseResult`s (STYLE §26: definitions stay
 * immutable; results are separate records).
 *
 * What counts as what:
 * - a case's `fail` verdict → `fail` with expected vs actual;
 * - a case that throws a {@link VhostUserError} (the peer timed out, hung up, answered nonsense)
 *   → `fail`: that is an observation of the peer, not a bug of the suite;
 * - a case that throws anything else → `error` (a suite bug; never waived);
 * - a case over its time limit → `fail` "timed out", and the peer is restarted;
 * - the peer process dying during a case (not killed by the case) → `fail` with how it ended,
 *   and the peer is restarted before the next case.
 * @module
 */
import { ProtocolError, VhostUserError, featureNames, hasFeature, ProtocolFeature, VirtioFeature, NetFeature } from '../../fakes/wire/index.js';
import type { CaseResult, Evidence } from '../../reports/index.js';
import type { CaseNeeds, ConformanceCase, Level, PeerInfo, Verdict } from '../model.js';
import { findRequirement } from '../requirements/index.js';
import { RunnerCaseContext, type ContextTiming } from './case-context.js';
import { applyExpectation, type ExpectationEntry } from './expectations.js';
import { runWithTimeLimit } from './time-limit.js';
import type { Target } from './target.js';

/** Default per-case time limit (CaseModel: 20 s). */
export const DEFAULT_CASE_TIMEOUT_MS = 20_000;
/** How long a peer that broke a connection gets to finish exiting before the case is judged. */
const PEER_EXIT_GRACE_MS = 100;

/** Options of {@link runSuite}. */
export interface RunOptions {
  /** The cases to run, already selected, in order. */
  cases: readonly ConformanceCase[];
  target: Target;
  /** The target's expectation list (empty when none). */
  expectations?: readonly ExpectationEntry[];
  /** Overrides every case's own limit (`--timeout`). */
  timeoutMs?: number;
  timing?: Partial<ContextTiming>;
  /** Whether the peer loops net frames back (profile `loopingNet`). */
  loopingNet?: boolean;
  /** Virtio / protocol bits the profile says the peer offers; missing ones fail a synthetic case. */
  expectFeatures?: readonly number[];
  expectProtocolFeatures?: readonly number[];
  /** Called before each case and after each result (progress display). */
  onCaseStart?(c: ConformanceCase, index: number): void;
  onResult?(r: CaseResult, index: number): void;
}

/** What a run produced. */
export interface SuiteRun {
  peer: PeerInfo;
  results: CaseResult[];
  startedAt: Date;
  durationMs: number;
  /** Set when the peer could not be restarted and the remaining cases were not run. */
  aborted?: string;
}

/** Id of the synthetic result that checks the profile's promised features. */
export const PROFILE_FEATURES_CASE_ID = 'profile/offers-expected-features';

/**
 * Id of the synthetic result for a handshake the peer answered wrongly (malformed replies to
 * GET_FEATURES / GET_PROTOCOL_FEATURES / GET_QUEUE_NUM): the peer was reached, so that is a
 * failed case (exit 1), not an unreachable peer (exit 3).
 */
export const HANDSHAKE_CASE_ID = 'profile/handshake-replies-valid';

/**
 * Runs `options.cases` against `options.target`. Throws only when the peer cannot be started or
 * reached; a peer that answers the probe with malformed replies yields a failed
 * {@link HANDSHAKE_CASE_ID} result and every selected case skipped.
 */
export async function runSuite(options: RunOptions): Promise<SuiteRun> {
  const { target } = options;
  const startedAt = new Date();
  const t0 = Date.now();
  const timing: ContextTiming = { quietMs: options.timing?.quietMs ?? 200, waitMs: options.timing?.waitMs ?? 5000 };
  const expectations = new Map((options.expectations ?? []).map((e) => [e.id, e]));
  const results: CaseResult[] = [];
  let aborted: string | undefined;
  let restartBeforeNext = false;
  await target.start();
  try {
    let peer: PeerInfo;
    try {
      peer = await target.probe();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      return handshakeFailed(options, err, startedAt, t0);
    }
    const featureCheck = checkOfferedFeatures(peer, options.expectFeatures ?? [], options.expectProtocolFeatures ?? []);
    if (featureCheck) {
      results.push(featureCheck);
      options.onResult?.(featureCheck, -1);
    }
    for (const [i, c] of options.cases.entries()) {
      options.onCaseStart?.(c, i);
      let result: CaseResult;
      if (aborted) {
        result = baseResult(c, 'error', 0, `not run: ${aborted}`, []);
      } else {
        const entry = expectations.get(c.id);
        const unmet = entry?.status === 'skip' ? `listed as skipped: ${entry.reason}` : unmetNeed(c, peer, target, options.loopingNet ?? false);
        if (unmet) {
          result = baseResult(c, 'skip', 0, unmet, []);
        } else {
          try {
            if (restartBeforeNext || (c.needs?.cleanPeer && !target.restartPerCase) || (target.alive() === false && !target.restartPerCase)) {
              await target.restart();
            }
            const one = await runOne(c, peer, target, timing, options.timeoutMs);
            restartBeforeNext = one.restart;
            result = applyExpectation(one.result, entry);
          } catch (err) {
            // The peer could not be restarted: nothing more can be observed.
            aborted = `the back-end could not be restarted: ${(err as Error).message}`;
            result = baseResult(c, 'error', 0, aborted, []);
          }
        }
      }
      results.push(result);
      options.onResult?.(result, i);
    }
    return { peer, results, startedAt, durationMs: Date.now() - t0, ...(aborted ? { aborted } : {}) };
  } finally {
    await target.stop();
  }
}

/** The run of a peer whose handshake replies are malformed: one failed result, the rest skipped. */
function handshakeFailed(options: RunOptions, err: ProtocolError, startedAt: Date, t0: number): SuiteRun {
  const failed: CaseResult = {
    id: HANDSHAKE_CASE_ID, title: 'The back-end answers the handshake with well-formed replies', area: 'profile',
    requirements: ['VU-MSG-001', 'VU-MSG-002', 'VU-MSG-003'], level: 'MUST', status: 'fail', durationMs: Date.now() - t0, evidence: [],
    expected: ['replies to GET_FEATURES, GET_PROTOCOL_FEATURES and GET_QUEUE_NUM with flags exactly 0x5, the request code and the payload size'],
    actual: `${err.name}: ${err.message}`,
    detail: `the handshake failed, so no case could run\nactual: ${err.name}: ${err.message}`,
  };
  const results = [failed, ...options.cases.map((c) => baseResult(c, 'skip', 0, `not run: the handshake failed (${HANDSHAKE_CASE_ID})`, []))];
  results.forEach((r, i) => options.onResult?.(r, i - 1));
  // Nothing was learnt beyond the failed handshake: what the profile declares, no features.
  const peer: PeerInfo = {
    deviceType: options.target.declared?.deviceType ?? 'net', mode: options.target.declared?.mode ?? 'server',
    features: 0n, protocolFeatures: 0n, queueNum: 0, maxMemSlots: 0, restartable: options.target.restartable,
  };
  return { peer, results, startedAt, durationMs: Date.now() - t0 };
}

async function runOne(
  c: ConformanceCase, peerInfo: PeerInfo, target: Target, timing: ContextTiming, timeoutOverride?: number,
): Promise<{ result: CaseResult; restart: boolean }> {
  const peer: PeerInfo = { ...peerInfo, ...(target.pid !== undefined ? { pid: target.pid } : {}) };
  const limit = timeoutOverride ?? c.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  const t0 = Date.now();
  let ctx: RunnerCaseContext | undefined;
  const outcome = await runWithTimeLimit(async (signal) => {
    ctx = new RunnerCaseContext(peer, target, timing, signal);
    return c.run(ctx);
  }, limit);
  // A peer that reset the connection may be dying (a core dump takes a while): give it a moment,
  // or its crash would be blamed on the next case. Checked before our own close breaks anything.
  if (ctx?.peerBrokeConnection && target.alive() === true) await target.awaitExit?.(PEER_EXIT_GRACE_MS);
  // Closing the sessions also wakes a case still blocked in a receive after a time-out.
  ctx?.closeSessions();
  const crash = target.takeCrash();
  const durationMs = Date.now() - t0;
  const evidence = ctx?.evidence() ?? [];
  let result: CaseResult;
  if (outcome.kind === 'timedOut') {
    result = failResult(c, durationMs, evidence, ['the case completes within its time limit'], `timed out after ${outcome.afterMs} ms`);
  } else if (outcome.kind === 'threw') {
    const err = outcome.error;
    if (err instanceof VhostUserError) {
      result = failResult(c, durationMs, evidence, [c.spec.quote ?? c.title], `${err.name}: ${err.message}`);
    } else {
      const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
      result = baseResult(c, 'error', durationMs, `the case threw (a suite problem, not a verdict): ${text}`, evidence);
    }
  } else {
    result = fromVerdict(c, outcome.value, durationMs, evidence);
  }
  if (crash) {
    evidence.push({ note: `back-end log (tail):\n${target.logTail(2000)}` });
    result = failResult(c, durationMs, evidence, ['the back-end keeps running'], crash + (result.status === 'fail' ? `; before that: ${result.actual ?? result.detail}` : ''));
  }
  // A hung case may have wedged the peer; a crashed or killed one is gone: the next case gets a
  // fresh one, so it meets a peer in a known state.
  const restart = Boolean(crash || outcome.kind === 'timedOut' || ctx?.peerKilled || target.alive() === false)
    && !target.restartPerCase && target.restartable;
  return { result, restart };
}

function fromVerdict(c: ConformanceCase, v: Verdict, durationMs: number, evidence: Evidence[]): CaseResult {
  switch (v.status) {
    case 'pass': return baseResult(c, 'pass', durationMs, v.detail ?? '', evidence);
    case 'skip': return baseResult(c, 'skip', durationMs, v.reason, evidence);
    case 'fail': {
      const r = failResult(c, durationMs, evidence, v.expected, v.actual);
      return v.detail ? { ...r, detail: `${r.detail}\n${v.detail}` } : r;
    }
  }
}

/** A failed result whose detail is the requirement plus expected vs actual (STYLE §41). */
function failResult(c: ConformanceCase, durationMs: number, evidence: Evidence[], expected: string[], actual: string): CaseResult {
  const req = c.requirements.map((id) => {
    const r = findRequirement(id);
    return r ? `${id} (${r.levelText}): ${r.text}` : id;
  }).join('\n');
  const detail = `${req}\nexpected: ${expected.join(' | or | ')}\nactual: ${actual}`;
  return { ...baseResult(c, 'fail', durationMs, detail, evidence), expected, actual };
}

function baseResult(c: ConformanceCase, status: CaseResult['status'], durationMs: number, detail: string, evidence: Evidence[]): CaseResult {
  return {
    id: c.id, title: c.title, area: c.area, requirements: [...c.requirements], level: c.level,
    status, durationMs, detail, evidence,
  };
}

/** Why a case cannot run against this peer, or undefined when it can. */
export function unmetNeed(c: ConformanceCase, peer: PeerInfo, target: Pick<Target, 'restartable' | 'pid'>, loopingNet: boolean): string | undefined {
  if (c.deviceTypes && !c.deviceTypes.includes(peer.deviceType)) {
    return `applies to ${c.deviceTypes.join('/')} devices; the peer is ${peer.deviceType}`;
  }
  const n: CaseNeeds = c.needs ?? {};
  if (n.mode && n.mode !== peer.mode) return `needs ${n.mode} mode; the peer runs in ${peer.mode} mode`;
  const missingF = (n.features ?? []).filter((b) => !hasFeature(peer.features, b));
  if (missingF.length > 0) return `needs feature(s) ${featureNames(featureMaskOf(missingF), { ...VirtioFeature, ...(peer.deviceType === 'net' ? NetFeature : {}) }).join(', ')}, which the peer does not offer`;
  const missingP = (n.protocolFeatures ?? []).filter((b) => !hasFeature(peer.protocolFeatures, b));
  if (missingP.length > 0) return `needs protocol feature(s) ${featureNames(featureMaskOf(missingP), ProtocolFeature).join(', ')}, which the peer does not offer`;
  if ((n.restartablePeer || n.cleanPeer) && !target.restartable) return 'needs a peer the runner can restart';
  if (n.localPeer && peer.pid === undefined && target.pid === undefined) return 'needs a peer running on this machine with a known pid';
  if (n.loopingNet && !(peer.deviceType === 'net' && loopingNet)) return 'needs a net back-end that loops frames back';
  return undefined;
}

function featureMaskOf(bits: readonly number[]): bigint {
  return bits.reduce((m, b) => m | (1n << BigInt(b)), 0n);
}

/**
 * How many results a run of `cases` yields: one per case, plus the synthetic
 * {@link PROFILE_FEATURES_CASE_ID} result when the profile promises features. Progress totals
 * use it, so a display never reads 101/100.
 */
export function expectedResultCount(cases: readonly unknown[], expectFeatures: readonly number[] = [], expectProtocolFeatures: readonly number[] = []): number {
  return cases.length + (expectFeatures.length > 0 || expectProtocolFeatures.length > 0 ? 1 : 0);
}

/** The synthetic result for `expectFeatures`/`expectProtocolFeatures`, or undefined when none are set. */
function checkOfferedFeatures(peer: PeerInfo, features: readonly number[], protocolFeatures: readonly number[]): CaseResult | undefined {
  if (expectedResultCount([], features, protocolFeatures) === 0) return undefined;
  const missF = features.filter((b) => !hasFeature(peer.features, b));
  const missP = protocolFeatures.filter((b) => !hasFeature(peer.protocolFeatures, b));
  const table = { ...VirtioFeature, ...(peer.deviceType === 'net' ? NetFeature : {}) };
  const ok = missF.length === 0 && missP.length === 0;
  const base: CaseResult = {
    id: PROFILE_FEATURES_CASE_ID, title: 'The back-end offers the features its profile promises', area: 'profile',
    requirements: ['VU-PF-001'], level: 'MUST', status: ok ? 'pass' : 'fail', durationMs: 0, evidence: [],
    detail: ok ? '' : `missing: ${[...featureNames(featureMaskOf(missF), table), ...featureNames(featureMaskOf(missP), ProtocolFeature).map((n) => `protocol ${n}`)].join(', ')}`,
  };
  if (ok) return base;
  return {
    ...base,
    expected: [`features ${featureNames(featureMaskOf(features), table).join(' ')}; protocol features ${featureNames(featureMaskOf(protocolFeatures), ProtocolFeature).join(' ')}`],
    actual: `offered 0x${peer.features.toString(16)} / protocol 0x${peer.protocolFeatures.toString(16)}; ${base.detail}`,
  };
}

/** Levels that fail the run only with `--strict` (STYLE §24: SHOULD cases warn by default). */
export function isAdvisoryLevel(level: Level): boolean {
  return level === 'SHOULD' || level === 'MAY';
}

/**
 * Whether a result fails the run: a `fail`/`error` whose level counts (MUST, ROBUST, INTEROP
 * always; SHOULD and MAY only with `strict`), and every unexpected pass (the expectation list is
 * stale whatever the level).
 */
export function failsRun(r: CaseResult, strict: boolean): boolean {
  if (r.expectation === 'xpass') return true;
  if (r.status === 'error') return true;
  if (r.status !== 'fail') return false;
  return strict || !isAdvisoryLevel(r.level);
}

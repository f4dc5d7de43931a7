/**
 * Feature words of SET_FEATURES and SET_PROTOCOL_FEATURES (CHECKLIST §4): mostly a subset of
 * what the back-end offered — the model knows the offer — and now and then bits it never offered
 * (a front-end acking an unoffered feature, VU-FEAT-*). Symbolic: a keep-mask over the offer plus
 * extra bits, so a shrunk value reads as "offer minus these, plus those".
 * @module
 */
import fc from 'fast-check';
import { anyU64, checkInt, mostly } from './_internals/numbers.js';

/** Symbolic feature word: `(offered & keep) | extra`. */
export interface FeatureWordArgs {
  readonly keep: bigint;
  readonly extra: bigint;
}

/** Options of {@link featureWordArgs}. */
export interface FeatureWordConstraints {
  /** Valid draws (extra = 0) per invalid draw (default 8; 0 = invalid only). */
  readonly validWeight?: number;
}

/** Symbolic feature word. */
export function featureWordArgs(constraints: FeatureWordConstraints = {}): fc.Arbitrary<FeatureWordArgs> {
  const w = constraints.validWeight ?? 8;
  checkInt('validWeight', w, 0, 1000);
  const all = (1n << 64n) - 1n;
  return fc.record({
    keep: fc.oneof({ weight: 4, arbitrary: fc.constant(all) }, { weight: 1, arbitrary: anyU64 }),
    extra: mostly(fc.constant(0n), fc.oneof(fc.integer({ min: 0, max: 63 }).map((b) => 1n << BigInt(b)), anyU64), w),
  });
}

/** The word sent, given what the back-end offered. */
export const resolveFeatureWord = (a: FeatureWordArgs, offered: bigint): bigint => (offered & a.keep) | a.extra;

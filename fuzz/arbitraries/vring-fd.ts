/**
 * The u64 of SET_VRING_KICK / SET_VRING_CALL / SET_VRING_ERR (CHECKLIST §2.1, VU-FD-*): ring index
 * in bits 0–7, NOFD in bit 8, bits 9–63 unspecified. Valid forms carry an eventfd unless NOFD is
 * set; invalid ones set upper bits or send an fd count that contradicts NOFD (see mutation.ts).
 * @module
 */
import fc from 'fast-check';
import type { VringFd } from '../../fakes/wire/payloads/vring-fd.js';
import { anyU64, checkInt, mostly } from './_internals/numbers.js';
import { resolveRing, ringRef, type RingRef } from './vring-state.js';

/** Symbolic kick/call/err value. */
export interface VringFdArgs {
  readonly ring: RingRef;
  readonly noFd: boolean;
  /** Bits 9–63 (0 on every well-formed message). */
  readonly upper: bigint;
}

/** Options of {@link vringFdArgs}. */
export interface VringFdConstraints {
  /** Rings a valid `ring` may name, 1..256 (default 2). */
  readonly maxRings?: number;
  /** Valid draws per invalid draw (default 8; 0 = invalid only). */
  readonly validWeight?: number;
  /** Chance weight of NOFD against an fd (default 1:3). */
  readonly noFdWeight?: number;
}

/** Symbolic kick/call/err value. */
export function vringFdArgs(constraints: VringFdConstraints = {}): fc.Arbitrary<VringFdArgs> {
  const w = constraints.validWeight ?? 8;
  checkInt('validWeight', w, 0, 1000);
  const nf = constraints.noFdWeight ?? 1;
  checkInt('noFdWeight', nf, 0, 1000);
  return fc.record({
    ring: ringRef(constraints.maxRings ?? 2, w),
    noFd: nf === 0 ? fc.constant(false) : fc.oneof({ weight: nf, arbitrary: fc.constant(true) }, { weight: 3, arbitrary: fc.constant(false) }),
    upper: mostly(fc.constant(0n), anyU64.map((v) => v & ~0x1ffn), w),
  });
}

/** The codec value in a session with `rings` rings (the index keeps only its low 8 bits on the wire). */
export const resolveVringFd = (a: VringFdArgs, rings: number): VringFd => ({ index: resolveRing(a.ring, rings) & 0xff, noFd: a.noFd, upper: a.upper });

/**
 * Vring state payloads (CHECKLIST §3.2/§3.3: `0/4 index`, `4/4 num`) for SET_VRING_NUM,
 * SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE, SET_VRING_ENDIAN and VRING_KICK. The ring is
 * symbolic ({@link RingRef}: "ring k of the session", resolved against the number of rings the
 * back-end offers) so shrinking keeps it in range; `num` is drawn per request: valid values and
 * the subtly invalid ones (size 0, not a power of two, above 32768; a base above 0xffff; enable 2).
 * @module
 */
import fc from 'fast-check';
import type { VringState } from '../../fakes/wire/payloads/vring-state.js';
import { anyU32, checkInt, edgeU32, mostly } from './_internals/numbers.js';

/** A ring: the k-th ring of the session (taken modulo the ring count) or a raw u32 index. */
export type RingRef = { readonly ring: number } | { readonly rawIndex: number };

/** Requests whose body is a vring state. */
export type VringStateRequest = 'SET_VRING_NUM' | 'SET_VRING_BASE' | 'GET_VRING_BASE' | 'SET_VRING_ENABLE' | 'SET_VRING_ENDIAN' | 'VRING_KICK' | 'GET_VRING_BASE_SKIP_DRAIN';

/** Symbolic vring state. */
export interface VringStateArgs {
  readonly ring: RingRef;
  readonly num: number;
}

/** Options of {@link vringStateArgs}. */
export interface VringStateConstraints {
  /** Which request the state is for: decides what `num` means (default SET_VRING_NUM). */
  readonly request?: VringStateRequest;
  /** Rings a valid `ring` may name, 1..256 (default 2). */
  readonly maxRings?: number;
  /** Valid draws per invalid draw (default 8; 0 = invalid only). */
  readonly validWeight?: number;
}

/** Largest split/packed queue size (virtio §2.6). */
export const MAX_QUEUE_SIZE = 32768;

/**
 * A ring reference: mostly a ring of the session — ring 0 most of all, so that successive
 * messages of a sequence meet on the same ring and build up its state — now and then any u32.
 */
export function ringRef(maxRings = 2, validWeight = 8): fc.Arbitrary<RingRef> {
  checkInt('maxRings', maxRings, 1, 256);
  return mostly<RingRef>(
    fc.oneof({ weight: 3, arbitrary: fc.constant({ ring: 0 }) }, { weight: 2, arbitrary: fc.record({ ring: fc.integer({ min: 0, max: maxRings - 1 }) }) }),
    fc.record({ rawIndex: fc.oneof(fc.integer({ min: 0, max: 300 }), edgeU32) }),
    2 * validWeight,
  );
}

/** Resolves a ring reference against `rings` rings (at least 1). */
export const resolveRing = (r: RingRef, rings: number): number => ('ring' in r ? r.ring % Math.max(1, rings) : r.rawIndex >>> 0);

function numArb(request: VringStateRequest, w: number): fc.Arbitrary<number> {
  switch (request) {
    case 'SET_VRING_NUM':
      return mostly(
        fc.integer({ min: 0, max: 15 }).map((k) => 2 ** k),
        // Size 0 is the classic (division by zero, empty ring): drawn most often.
        fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constantFrom(3, 255, MAX_QUEUE_SIZE + 1, 65535, 65536) }, { weight: 1, arbitrary: edgeU32 }, { weight: 1, arbitrary: anyU32 }),
        w,
      );
    case 'SET_VRING_BASE':
      return mostly(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), fc.oneof(edgeU32, anyU32), w);
    case 'SET_VRING_ENABLE':
    case 'SET_VRING_ENDIAN':
      return mostly(fc.constantFrom(0, 1), fc.oneof(fc.constantFrom(2, 0xff), anyU32), w);
    default:
      // GET_VRING_BASE, VRING_KICK: num is reserved and must be 0.
      return mostly(fc.constant(0), fc.oneof(edgeU32, anyU32), w);
  }
}

/** Symbolic vring state for `constraints.request`. */
export function vringStateArgs(constraints: VringStateConstraints = {}): fc.Arbitrary<VringStateArgs> {
  const w = constraints.validWeight ?? 8;
  checkInt('validWeight', w, 0, 1000);
  return fc.record({ ring: ringRef(constraints.maxRings ?? 2, w), num: numArb(constraints.request ?? 'SET_VRING_NUM', w) });
}

/** The codec value of symbolic state `a` in a session with `rings` rings. */
export const resolveVringState = (a: VringStateArgs, rings: number): VringState => ({ index: resolveRing(a.ring, rings), num: a.num >>> 0 });

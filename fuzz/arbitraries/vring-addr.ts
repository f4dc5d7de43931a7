/**
 * SET_VRING_ADDR payloads (CHECKLIST §3.4): ring index, flags (bit 0 LOG), and the descriptor,
 * used, available and log addresses. Addresses are symbolic ("region k + offset", resolved
 * against the session's memory layout as front-end user addresses) so they land inside announced
 * memory most of the time — just inside, straddling the end, or unaligned — and shrink cleanly.
 * @module
 */
import fc from 'fast-check';
import type { MemoryRegion } from '../../fakes/wire/payloads/mem-region.js';
import type { VringAddr } from '../../fakes/wire/payloads/vring-addr.js';
import { addrRef, resolveAddr, type AddrRef } from './message-stream.js';
import { anyU32, checkInt, mostly } from './_internals/numbers.js';
import { resolveRing, ringRef, type RingRef } from './vring-state.js';

/** Symbolic SET_VRING_ADDR body. */
export interface VringAddrArgs {
  readonly ring: RingRef;
  readonly flags: number;
  readonly desc: AddrRef;
  readonly used: AddrRef;
  readonly avail: AddrRef;
  readonly log: AddrRef;
}

/** Options of {@link vringAddrArgs}. */
export interface VringAddrConstraints {
  /** Rings a valid `ring` may name, 1..256 (default 2). */
  readonly maxRings?: number;
  /** Regions an address may refer to, 1..8 (default 4). */
  readonly maxRegions?: number;
  /** Valid draws per invalid draw (default 8; 0 = invalid only). */
  readonly validWeight?: number;
}

/** Symbolic SET_VRING_ADDR body. */
export function vringAddrArgs(constraints: VringAddrConstraints = {}): fc.Arbitrary<VringAddrArgs> {
  const w = constraints.validWeight ?? 8;
  checkInt('validWeight', w, 0, 1000);
  const maxRegions = constraints.maxRegions ?? 4;
  checkInt('maxRegions', maxRegions, 1, 8);
  const addr = addrRef(maxRegions);
  return fc.record({
    ring: ringRef(constraints.maxRings ?? 2, w),
    flags: mostly(fc.constantFrom(0, 1), anyU32, w),
    desc: addr, used: addr, avail: addr, log: addr,
  });
}

/** The codec value against `layout` in a session with `rings` rings. */
export function resolveVringAddr(a: VringAddrArgs, layout: readonly MemoryRegion[], rings: number): VringAddr {
  return {
    index: resolveRing(a.ring, rings), flags: a.flags >>> 0,
    descAddr: resolveAddr(a.desc, layout), usedAddr: resolveAddr(a.used, layout),
    availAddr: resolveAddr(a.avail, layout), logGuestAddr: resolveAddr(a.log, layout),
  };
}

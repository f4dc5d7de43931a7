/**
 * The packed-ring vring base of SET_VRING_BASE / GET_VRING_BASE (vhost-user.rst "Vring
 * descriptor indices for packed virtqueues"; CHECKLIST §3.3): both ring positions and both wrap
 * counters in one u32, under the names the queue state uses. Pure.
 * @module
 */
import { decodePackedBase, encodePackedBase } from './payloads/vring-base.js';

/** Packed ring position state: what SET/GET_VRING_BASE carry (CHECKLIST §3.3). */
export interface PackedVringState {
  /** Next ring slot the device will read, 0..size-1. */
  readonly lastAvailIdx: number;
  /** Driver (avail) wrap counter the device expects at that slot. */
  readonly availWrapCounter: boolean;
  /** Next ring slot the device will write a used descriptor to, 0..size-1. */
  readonly usedIdx: number;
  /** Device (used) wrap counter. */
  readonly usedWrapCounter: boolean;
}

/**
 * Encodes the packed vring base (CHECKLIST §3.3): the bit layout is kept once, in
 * payloads/vring-base.ts; this names the fields as the queue state does. Unsigned 32-bit.
 */
export function encodePackedVringBase(s: PackedVringState): number {
  return encodePackedBase({ availIdx: s.lastAvailIdx, availWrap: s.availWrapCounter, usedIdx: s.usedIdx, usedWrap: s.usedWrapCounter });
}

/** Decodes a packed vring base; the result spreads into a {@link VringConfig} to restore a queue. */
export function decodePackedVringBase(v: number): PackedVringState {
  const b = decodePackedBase(v);
  return { lastAvailIdx: b.availIdx, availWrapCounter: b.availWrap, usedIdx: b.usedIdx, usedWrapCounter: b.usedWrap };
}

/**
 * The packed-ring vring base of SET_VRING_BASE / GET_VRING_BASE (vhost-user.rst "Vring
 * descriptor indices for packed virtqueues"; CHECKLIST §3.3): both ring positions and both wrap
 * counters in one u32. Pure.
 * @module
 */
import { PACKED_WRAP_BIT } from './ring-layout.js';

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
 * Encodes the packed vring base (CHECKLIST §3.3): bits 0–14 avail index, 15 avail wrap, 16–30 used
 * index, 31 used wrap. Returns an unsigned 32-bit value.
 */
export function encodePackedVringBase(s: PackedVringState): number {
  return (
    ((s.lastAvailIdx & 0x7fff) | (s.availWrapCounter ? PACKED_WRAP_BIT : 0) | ((s.usedIdx & 0x7fff) << 16) | (s.usedWrapCounter ? 0x8000_0000 : 0)) >>>
    0
  );
}

/** Decodes a packed vring base; the result spreads into a {@link VringConfig} to restore a queue. */
export function decodePackedVringBase(v: number): PackedVringState {
  return {
    lastAvailIdx: v & 0x7fff,
    availWrapCounter: (v & PACKED_WRAP_BIT) !== 0,
    usedIdx: (v >>> 16) & 0x7fff,
    usedWrapCounter: (v & 0x8000_0000) !== 0,
  };
}

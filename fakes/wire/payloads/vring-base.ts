/**
 * Encoding of the `num` field of SET_VRING_BASE / GET_VRING_BASE / GET_VRING_BASE_SKIP_DRAIN
 * (CHECKLIST §3.3). Split rings: bits 0–15 are the next avail index (free-running, not reduced
 * modulo the ring size), bits 16–31 zero. Packed rings: bits 0–14 next avail descriptor index,
 * bit 15 driver wrap counter, bits 16–30 next used index, bit 31 device wrap counter.
 * Not a payload family of its own: the wire carries a vring state (vring-state.ts).
 * @module
 */

/** The `num` of a split ring base: the 16-bit next avail index. */
export const encodeSplitBase = (nextAvail: number): number => nextAvail & 0xffff;

/** The next avail index of a split ring base (bits 0–15; see {@link validateSplitBase} for 16–31). */
export const decodeSplitBase = (num: number): number => num & 0xffff;

/** Reason when bits 16–31 of a split base are set (they must be zero), else undefined. */
export const validateSplitBase = (num: number): string | undefined =>
  num >>> 16 !== 0 ? `split vring base 0x${(num >>> 0).toString(16)} has bits 16-31 set` : undefined;

/** A packed ring base: both indices (15 bits) and both wrap counters. */
export interface PackedBase {
  /** Next available descriptor index the device will read (0..32767). */
  readonly availIdx: number;
  /** Driver ring wrap counter the device expects. */
  readonly availWrap: boolean;
  /** Next used descriptor index the device will write (0..32767). */
  readonly usedIdx: number;
  /** Device ring wrap counter. */
  readonly usedWrap: boolean;
}

/** The u32 `num` for a packed base (indices taken modulo 2^15). */
export function encodePackedBase(b: PackedBase): number {
  return (
    ((b.availIdx & 0x7fff) | (b.availWrap ? 0x8000 : 0) | ((b.usedIdx & 0x7fff) << 16) | (b.usedWrap ? 0x80000000 : 0)) >>>
    0
  );
}

/** Splits a packed base `num` into its four parts. */
export function decodePackedBase(num: number): PackedBase {
  const n = num >>> 0;
  return {
    availIdx: n & 0x7fff,
    availWrap: (n & 0x8000) !== 0,
    usedIdx: (n >>> 16) & 0x7fff,
    usedWrap: (n & 0x80000000) !== 0,
  };
}

/** The base of a freshly initialised packed ring: indices 0, both wrap counters 1 (virtio §2.8.1). */
export const PACKED_INITIAL_BASE: PackedBase = Object.freeze({ availIdx: 0, availWrap: true, usedIdx: 0, usedWrap: true });

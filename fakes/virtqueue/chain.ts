/**
 * Types shared by the driver and device sides of the virtqueues: buffers, chains, used elements,
 * queue layouts and lifetime violations (virtio 1.2 §2.7.4–§2.7.8; CHECKLIST §5.15).
 * @module
 */

/** One buffer of a descriptor chain, as the driver describes it. */
export interface BufferSegment {
  /**
   * Guest-physical address. A bigint lets conformance cases place addresses the project cannot
   * map (≥ 2^53, e.g. 2^64 − 16 for VU-MEM-008).
   */
  readonly addr: number | bigint;
  /** Length in bytes (u32). */
  readonly len: number;
  /** Device-writable (descriptor flag WRITE). */
  readonly writable: boolean;
}

/** An element of the used ring: the chain's head id and the bytes the device wrote. */
export interface UsedElement {
  /** Head descriptor index of the returned chain. */
  id: number;
  /** Bytes written into the writable part of the chain. */
  len: number;
}

/** Where a split queue lives, in guest-physical addresses (SET_VRING_ADDR takes QVAs of these). */
export interface SplitQueueLayout {
  /** Queue size (a power of two). */
  readonly size: number;
  /** Descriptor table, 16-byte aligned. */
  readonly descAddr: number;
  /** Available (driver) ring, 2-byte aligned. */
  readonly availAddr: number;
  /** Used (device) ring, 4-byte aligned. */
  readonly usedAddr: number;
}

/** A broken rule of the descriptor lifetime, found by the tracker. */
export interface LifetimeViolation {
  /** Requirement id from CHECKLIST §5.15 (e.g. `VU-DP-019`). */
  readonly rule: string;
  /** Head id concerned, when one is. */
  readonly head?: number;
  /** What happened, for the report. */
  readonly detail: string;
}

/** Sum of the lengths of the writable segments (the most a device may report in `used.len`). */
export const writableBytes = (segments: readonly BufferSegment[]): number => {
  let n = 0;
  for (const s of segments) if (s.writable) n += s.len;
  return n;
};

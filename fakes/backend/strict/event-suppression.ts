/**
 * Strict checks of the driver's event-suppression field, the one value the driver writes to ask
 * the device for fewer used-buffer notifications:
 * - split rings, `avail->flags` (virtio 1.2 §2.7.7.2 "Driver Requirements: Used Buffer
 *   Notification Suppression"): without VIRTIO_F_EVENT_IDX "the driver MUST set flags to 0 or 1"
 *   (reported as VU-EVT-001); with it "the driver MUST set flags to 0" (VU-EVT-002);
 * - packed rings, the `flags` of the driver event suppression structure (§2.8.10): 0 ENABLE,
 *   1 DISABLE, 2 DESC "only valid if VIRTIO_F_EVENT_IDX has been negotiated", 3 reserved
 *   (VU-PK-009). Only bits 0–1 are judged, as the device reads them; the reserved bits 2–15 are
 *   not.
 *
 * The rule ids are the CHECKLIST requirements that govern the field (they are phrased for the
 * device that honours it). Each distinct problem is reported once per ring start: a driver stuck
 * with a bad value would otherwise report itself on every burst.
 * @module
 */
import { PACKED_EVENT, PackedEventFlag, SPLIT_AVAIL, VirtioFeature, swap16 } from '../../wire/index.js';
import type { GuestMemory } from '../../memory/index.js';
import type { RingStartEvent } from '../hooks.js';
import type { SessionState } from '../session-state.js';

/** The distinct problems, one bit each (what "reported once" is keyed on). */
export const DriverFlagsProblem = {
  /** Split, no EVENT_IDX: `avail->flags` other than 0 or 1. */
  SPLIT_NOT_0_OR_1: 1,
  /** Split, EVENT_IDX: `avail->flags` not 0. */
  SPLIT_NONZERO_WITH_EVENT_IDX: 2,
  /** Packed: flags 3 (reserved). */
  PACKED_RESERVED: 4,
  /** Packed, no EVENT_IDX: flags 2 (DESC). */
  PACKED_DESC_WITHOUT_EVENT_IDX: 8,
} as const;

/** A broken driver event-suppression rule. */
export interface DriverFlagsFinding {
  /** CHECKLIST requirement id. */
  readonly rule: 'VU-EVT-001' | 'VU-EVT-002' | 'VU-PK-009';
  /** What the driver wrote and why it is wrong. */
  readonly detail: string;
  /** Which {@link DriverFlagsProblem}. */
  readonly problem: number;
}

const hex = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;

/**
 * Judges one value of the driver's flags field: `avail->flags` (split) or the driver event
 * suppression `flags` (packed). Pure; undefined when the value is allowed.
 */
export function judgeDriverFlags(format: 'split' | 'packed', eventIdx: boolean, flags: number): DriverFlagsFinding | undefined {
  if (format === 'split') {
    if (eventIdx && flags !== 0) {
      return { rule: 'VU-EVT-002', problem: DriverFlagsProblem.SPLIT_NONZERO_WITH_EVENT_IDX, detail: `avail->flags is ${hex(flags)} with VIRTIO_F_EVENT_IDX: the driver must set it to 0 (virtio §2.7.7.2)` };
    }
    if (!eventIdx && flags > 1) {
      return { rule: 'VU-EVT-001', problem: DriverFlagsProblem.SPLIT_NOT_0_OR_1, detail: `avail->flags is ${hex(flags)} without VIRTIO_F_EVENT_IDX: the driver must set it to 0 or 1 (virtio §2.7.7.2)` };
    }
    return undefined;
  }
  const f = flags & 3;
  if (f === 3) {
    return { rule: 'VU-PK-009', problem: DriverFlagsProblem.PACKED_RESERVED, detail: `driver event suppression flags ${hex(flags)}: value 3 is reserved (virtio §2.8.10)` };
  }
  if (f === PackedEventFlag.DESC && !eventIdx) {
    return { rule: 'VU-PK-009', problem: DriverFlagsProblem.PACKED_DESC_WITHOUT_EVENT_IDX, detail: `driver event suppression flags ${hex(flags)} (DESC) without VIRTIO_F_EVENT_IDX: only valid when it is negotiated (virtio §2.8.10)` };
  }
  return undefined;
}

/** Watches one started ring's driver flags field; made at ring start, so it forgets on restart. */
export class DriverFlagsWatch {
  private reported = 0;

  constructor(
    /** The memory table the ring was started with: the address means nothing in another one. */
    private readonly memory: GuestMemory,
    /** GPA of the flags field. */
    readonly flagsAddr: number,
    readonly format: 'split' | 'packed',
    readonly eventIdx: boolean,
    /** A legacy ring set big-endian by SET_VRING_ENDIAN (VU-FEAT-008). */
    readonly bigEndian = false,
  ) {}

  /**
   * The watch for the ring `start` describes, from the session's memory table, ring addresses
   * and features; undefined when the driver area does not translate (the ring then cannot start
   * either, and that is reported as VU-MEM-008 already).
   */
  static atRingStart(start: RingStartEvent, state: SessionState): DriverFlagsWatch | undefined {
    const mem = state.memory;
    const qva = state.ring(start.ring)?.addr?.availAddr;
    if (mem === undefined || qva === undefined || qva > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    let area: number;
    try {
      // Split: the available ring; packed: the driver event suppression structure (same field of SET_VRING_ADDR).
      area = mem.userToGpa(Number(qva));
    } catch {
      return undefined;
    }
    const offset = start.format === 'split' ? SPLIT_AVAIL.FLAGS : PACKED_EVENT.FLAGS;
    const ring = state.ring(start.ring);
    const bigEndian = ring !== undefined && state.ringBigEndian(ring);
    return new DriverFlagsWatch(mem, area + offset, start.format, state.hasFeature(VirtioFeature.EVENT_IDX), bigEndian);
  }

  /**
   * Reads the field once from `memory` (the session's current table) and returns a problem not
   * yet reported since the ring started, or undefined.
   */
  check(memory: GuestMemory | undefined): DriverFlagsFinding | undefined {
    // A release flush under a new memory table reads with the old table's address: skip it.
    if (memory !== this.memory) return undefined;
    let flags: number;
    try {
      flags = this.memory.readU16(this.flagsAddr);
      if (this.bigEndian) flags = swap16(flags);
    } catch {
      return undefined; // region removed under a running ring (REM_MEM_REG): the ring is rebuilt next
    }
    const finding = judgeDriverFlags(this.format, this.eventIdx, flags);
    if (finding === undefined || (this.reported & finding.problem) !== 0) return undefined;
    this.reported |= finding.problem;
    return finding;
  }
}

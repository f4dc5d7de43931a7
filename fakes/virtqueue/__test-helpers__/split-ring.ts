/**
 * Test-only hand-built split ring: writes descriptors, avail entries and indices directly at the
 * offsets of virtio §2.7, so device tests do not depend on the driver under development.
 * @module
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import { SPLIT_AVAIL, SPLIT_DESC, SPLIT_USED, splitAvailEventOffset, splitUsedEventOffset } from '../../wire/ring-layout.js';
import type { VringConfig } from '../queue-config.js';

/** A descriptor as the test writes it; `addr` is a bigint so tests can write any u64. */
export interface RawDesc {
  addr: bigint | number;
  len: number;
  flags?: number;
  next?: number;
}

/** A split ring laid out at fixed GPAs. */
export class HandSplitRing {
  readonly descAddr: number;
  readonly availAddr: number;
  readonly usedAddr: number;
  availIdx = 0;

  constructor(
    readonly mem: GuestMemory,
    readonly size: number,
    base: number,
  ) {
    this.descAddr = base;
    this.availAddr = base + 16 * size;
    this.usedAddr = Math.ceil((this.availAddr + 6 + 2 * size) / 4) * 4;
  }

  config(extra: Partial<VringConfig> = {}): VringConfig {
    return {
      format: 'split', size: this.size, descAddr: this.descAddr, availAddr: this.availAddr, usedAddr: this.usedAddr,
      eventIdx: false, indirect: false, inOrder: false, ...extra,
    };
  }

  /** Writes descriptor `i` of the ring's table. */
  desc(i: number, d: RawDesc): void {
    writeDesc(this.mem, this.descAddr + i * SPLIT_DESC.SIZE, d);
  }

  /** Puts `head` in the next avail slot and publishes it (unless `publish` is false). */
  offer(head: number, publish = true): void {
    this.mem.writeU16(this.availAddr + SPLIT_AVAIL.RING + 2 * (this.availIdx & (this.size - 1)), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    if (publish) this.setAvailIdx(this.availIdx);
  }

  setAvailIdx(v: number): void {
    this.mem.writeU16(this.availAddr + SPLIT_AVAIL.IDX, v);
  }

  setAvailFlags(v: number): void {
    this.mem.writeU16(this.availAddr + SPLIT_AVAIL.FLAGS, v);
  }

  setUsedEvent(v: number): void {
    this.mem.writeU16(this.availAddr + splitUsedEventOffset(this.size), v);
  }

  usedIdx(): number {
    return this.mem.readU16(this.usedAddr + SPLIT_USED.IDX);
  }

  usedFlags(): number {
    return this.mem.readU16(this.usedAddr + SPLIT_USED.FLAGS);
  }

  availEvent(): number {
    return this.mem.readU16(this.usedAddr + splitAvailEventOffset(this.size));
  }

  usedElem(slot: number): { id: number; len: number } {
    const off = this.usedAddr + SPLIT_USED.RING + SPLIT_USED.ENTRY * (slot & (this.size - 1));
    return { id: this.mem.readU32(off), len: this.mem.readU32(off + 4) };
  }
}

/** Writes one 16-byte split descriptor at `gpa`. */
export function writeDesc(mem: GuestMemory, gpa: number, d: RawDesc): void {
  mem.writeU64(gpa + SPLIT_DESC.ADDR, BigInt(d.addr));
  mem.writeU32(gpa + SPLIT_DESC.LEN, d.len);
  mem.writeU16(gpa + SPLIT_DESC.FLAGS, d.flags ?? 0);
  mem.writeU16(gpa + SPLIT_DESC.NEXT, d.next ?? 0);
}

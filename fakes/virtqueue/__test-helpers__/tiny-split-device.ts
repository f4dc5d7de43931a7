/**
 * A deliberately small device side of a split ring for the driver's tests: it reads the rings
 * through {@link GuestMemory} accessors (not the driver's typed views), so it checks the bytes
 * the driver wrote, not the driver's own idea of them. Tests misuse its low-level methods to
 * build broken devices.
 * @module
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { SplitQueueLayout } from '../chain.js';
import { DescFlag, SPLIT_DESC, splitAvailEventOffset, splitUsedEventOffset } from '../../wire/ring-layout.js';

/** One buffer of a chain as the device walked it. */
export interface WalkedSegment {
  addr: number;
  len: number;
  writable: boolean;
}

/** A chain the device took from the avail ring. */
export interface WalkedChain {
  head: number;
  segments: WalkedSegment[];
}

/** Reads one descriptor at `gpa`. */
export const readDesc = (mem: GuestMemory, gpa: number): { addr: number; len: number; flags: number; next: number } => ({
  addr: Number(mem.readU64(gpa + SPLIT_DESC.ADDR)),
  len: mem.readU32(gpa + SPLIT_DESC.LEN),
  flags: mem.readU16(gpa + SPLIT_DESC.FLAGS),
  next: mem.readU16(gpa + SPLIT_DESC.NEXT),
});

/** The device side, without any validation beyond a TTL. */
export class TinySplitDevice {
  lastAvail = 0;
  usedIdx = 0;

  constructor(
    readonly mem: GuestMemory,
    readonly layout: SplitQueueLayout,
  ) {}

  /** `avail->idx` as stored. */
  availIdx(): number {
    return this.mem.readU16(this.layout.availAddr + 2);
  }

  /** `avail->ring[slot]`. */
  availSlot(slot: number): number {
    return this.mem.readU16(this.layout.availAddr + 4 + 2 * (slot % this.layout.size));
  }

  /** `used_event` (in the avail ring). */
  usedEvent(): number {
    return this.mem.readU16(this.layout.availAddr + splitUsedEventOffset(this.layout.size));
  }

  /** Sets `avail_event` (in the used ring). */
  setAvailEvent(v: number): void {
    this.mem.writeU16(this.layout.usedAddr + splitAvailEventOffset(this.layout.size), v);
  }

  /** Sets `used->flags`. */
  setUsedFlags(v: number): void {
    this.mem.writeU16(this.layout.usedAddr, v);
  }

  /** Walks the chain starting at `head` (following NEXT and one level of INDIRECT). */
  walk(head: number): WalkedChain {
    const segments: WalkedSegment[] = [];
    let i = head;
    for (let ttl = this.layout.size; ttl > 0; ttl--) {
      const d = readDesc(this.mem, this.layout.descAddr + SPLIT_DESC.SIZE * i);
      if (d.flags & DescFlag.INDIRECT) {
        const n = d.len / SPLIT_DESC.SIZE;
        let j = 0;
        for (let t = n; t > 0; t--) {
          const e = readDesc(this.mem, d.addr + SPLIT_DESC.SIZE * j);
          segments.push({ addr: e.addr, len: e.len, writable: (e.flags & DescFlag.WRITE) !== 0 });
          if (!(e.flags & DescFlag.NEXT)) break;
          j = e.next;
        }
        break;
      }
      segments.push({ addr: d.addr, len: d.len, writable: (d.flags & DescFlag.WRITE) !== 0 });
      if (!(d.flags & DescFlag.NEXT)) break;
      i = d.next;
    }
    return { head, segments };
  }

  /** Takes every chain published since the last call. */
  poll(): WalkedChain[] {
    const end = this.availIdx();
    const out: WalkedChain[] = [];
    while (this.lastAvail !== end) {
      out.push(this.walk(this.availSlot(this.lastAvail)));
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
    }
    return out;
  }

  /** Writes a used element and advances `used->idx` (element first). */
  pushUsed(id: number, len: number): void {
    const slot = this.usedIdx % this.layout.size;
    this.mem.writeU32(this.layout.usedAddr + 4 + 8 * slot, id);
    this.mem.writeU32(this.layout.usedAddr + 8 + 8 * slot, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.mem.writeU16(this.layout.usedAddr + 2, this.usedIdx);
  }

  /**
   * A correct device: for each published chain, fills the writable buffers with `fill` and
   * returns the chain with len = the writable bytes. Returns the chains served.
   */
  serve(fill = 0x5c): WalkedChain[] {
    const chains = this.poll();
    for (const c of chains) {
      let len = 0;
      for (const s of c.segments) {
        if (!s.writable) continue;
        this.mem.slice(s.addr, s.len).fill(fill);
        len += s.len;
      }
      this.pushUsed(c.head, len);
    }
    return chains;
  }
}

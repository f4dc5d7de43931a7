/**
 * Bounded descriptor-chain walking for the device side of split (virtio 1.2 §2.7.5, §2.7.5.3) and
 * packed (§2.8.6, §2.8.7) rings, after vm-virtio `chain.rs` (STYLE.md point 8).
 *
 * Security model: every descriptor is written by an untrusted driver and may change while we read
 * it. Each field is read exactly once (VU-DP-015), every walk carries a TTL (queue size for the
 * ring, table length for an indirect table) so a `next` cycle ends (VU-DP-005), nested indirect
 * tables are refused (VU-DP-016), and each buffer must lie inside guest memory with its u64
 * `addr + len` computed without overflow (VU-DP-014). Violations come back as a {@link ChainError}
 * value: a hostile driver can produce them at line rate, so they must not cost an exception.
 *
 * Allocation: a {@link Chain} is reusable; walking into one that already has enough segments
 * allocates nothing (the back-end's per-packet fast path).
 * @module
 */
import type { GuestMemory, GuestRegion } from '../memory/guest-memory.js';
import { DescFlag, PACKED_DESC, PackedDescFlag, SPLIT_DESC } from '../wire/ring-layout.js';

/** One contiguous piece of a buffer, inside one guest memory region. */
export class Segment {
  /** Guest-physical address of the first byte. */
  addr = 0;
  /** Length in bytes (never 0). */
  len = 0;
  /**
   * The whole region's bytes; the segment is `host[hostOffset, hostOffset + len)`. Hot paths use
   * this pair to avoid creating a view per packet.
   */
  host: Uint8Array = EMPTY;
  /** Offset of the first byte in {@link host}. */
  hostOffset = 0;
  /**
   * A DataView over the same region as {@link host} (same offsets): small copies between regions
   * go word by word through it, far cheaper than a `subarray` + `set` per packet.
   */
  view: DataView = EMPTY_VIEW;
  /**
   * The region as native-endian 32-bit words (word `i` = bytes `4i..4i+3` of {@link host}), for
   * aligned small copies; empty when the region's bytes do not start 4-aligned in their buffer.
   */
  words: Int32Array = EMPTY_WORDS;

  /** A view (not a copy) of the segment's bytes. SAFETY: shared with the driver. */
  get bytes(): Uint8Array {
    return this.host.subarray(this.hostOffset, this.hostOffset + this.len);
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);
const EMPTY_WORDS = new Int32Array(0);

/** A driver error found while walking a chain: which CHECKLIST requirement, and why. */
export class ChainError {
  /** Stable error code. */
  readonly code = 'VHU_ERR_CHAIN';
  constructor(
    /** CHECKLIST requirement id, e.g. `VU-DP-005`. */
    readonly rule: string,
    /** What was wrong, with the offending values. */
    readonly reason: string,
    /**
     * Split: the head index (or -1 when the head itself could not be read). Packed: the slot the
     * chain started at.
     */
    readonly head: number,
  ) {}

  /** `RULE: reason`, for logs and violation records. */
  toString(): string {
    return `${this.rule}: ${this.reason}`;
  }
}

/** Type guard for {@link ChainError}. */
export const isChainError = (v: unknown): v is ChainError => v instanceof ChainError;

/** A walked descriptor chain, reusable across pops. */
export class Chain {
  /** Split: head descriptor index. Packed: buffer id (from the chain's last descriptor). */
  head = 0;
  /** Descriptors walked, counting the indirect pointer and table entries. */
  descCount = 0;
  /** Packed: ring slots the chain occupies (the used descriptor skips this many). Split: 0. */
  ringSlots = 0;
  /** The chain's buffers came from an indirect table (virtio §2.7.5.3, §2.8.7). */
  indirect = false;
  /** Device-readable segments, in chain order. */
  readonly readable: Segment[] = [];
  /** Device-writable segments, in chain order. */
  readonly writable: Segment[] = [];
  /** Sum of readable segment lengths. */
  readableBytes = 0;
  /** Sum of writable segment lengths. */
  writableBytes = 0;
  // Segment objects owned by this chain and reused on the next walk.
  private readonly pool: Segment[] = [];
  private used = 0;
  private nr = 0;
  private nw = 0;

  /** Empties the chain for a new walk (keeps the pooled segments). */
  reset(head: number): void {
    this.head = head;
    this.descCount = 0;
    this.ringSlots = 0;
    this.indirect = false;
    this.readableBytes = 0;
    this.writableBytes = 0;
    this.used = 0;
    this.nr = 0;
    this.nw = 0;
  }

  /** Internal: the next pooled segment, appended to the readable or writable list. */
  take(write: boolean): Segment {
    let s = this.pool[this.used];
    if (s === undefined) {
      s = new Segment();
      this.pool.push(s);
    }
    this.used++;
    if (write) this.writable[this.nw++] = s;
    else this.readable[this.nr++] = s;
    return s;
  }

  /** Internal: trims the lists to this walk's segments. Writing `length` only when it changed
   * keeps V8 from dropping the arrays' backing stores on every pop. */
  finish(): void {
    if (this.readable.length !== this.nr) this.readable.length = this.nr;
    if (this.writable.length !== this.nw) this.writable.length = this.nw;
  }

  /** Copies the readable bytes into one new array (tests and slow paths). */
  readAll(): Uint8Array {
    const out = new Uint8Array(this.readableBytes);
    let o = 0;
    for (const s of this.readable) {
      out.set(s.host.subarray(s.hostOffset, s.hostOffset + s.len), o);
      o += s.len;
    }
    return out;
  }

  /** Copies `data` into the writable segments in order; returns the bytes written. */
  writeAll(data: Uint8Array): number {
    let o = 0;
    for (const s of this.writable) {
      if (o >= data.length) break;
      const n = Math.min(s.len, data.length - o);
      s.host.set(data.subarray(o, o + n), s.hostOffset);
      o += n;
    }
    return o;
  }
}

const TWO_32 = 0x1_0000_0000;
// Addresses this project maps are below 2^53 (guest-memory.ts); a u64 whose high word is at or
// above 2^21 cannot name mapped memory, and rejecting it early keeps the arithmetic exact.
const HI_LIMIT = 0x20_0000;

/** Options of a {@link ChainWalker}. */
export interface ChainWalkerOptions {
  /** Queue size: the TTL of a walk and the bound on an indirect table's entries. */
  readonly queueSize: number;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated. */
  readonly indirect: boolean;
  /** Packed: do not check that a chain's later slots are available (a fault; see VringConfig). */
  readonly uncheckedChainTail?: boolean;
  /** Split: descriptors (and indirect tables) are big-endian, a legacy cross-endian ring (VU-FEAT-008). */
  readonly bigEndian?: boolean;
}

/**
 * Walks split or packed chains against one {@link GuestMemory}. Stateless between walks except for
 * a region lookup cache, which it rebuilds when `mem.regions` changes identity.
 */
export class ChainWalker {
  private readonly size: number;
  private readonly indirect: boolean;
  private readonly uncheckedChainTail: boolean;
  // Split descriptor byte order, and where the low and high address words sit in that order.
  private readonly le: boolean;
  private readonly addrLo: number;
  private readonly addrHi: number;
  private regions: readonly GuestRegion[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  private views: DataView[] = [];
  private hosts: Uint8Array[] = [];
  private words: Int32Array[] = [];
  private lastHit = 0;

  constructor(
    private readonly mem: GuestMemory,
    opts: ChainWalkerOptions,
  ) {
    this.size = opts.queueSize;
    this.indirect = opts.indirect;
    this.uncheckedChainTail = opts.uncheckedChainTail === true;
    this.le = opts.bigEndian !== true;
    this.addrLo = SPLIT_DESC.ADDR + (this.le ? 0 : 4);
    this.addrHi = SPLIT_DESC.ADDR + (this.le ? 4 : 0);
  }

  /**
   * Walks the split chain starting at descriptor `head` of `table` into `out`. Returns `out`, or a
   * {@link ChainError}; `out` is unspecified after an error.
   */
  walkSplit(table: DataView, head: number, out: Chain): Chain | ChainError {
    out.reset(head);
    const size = this.size;
    if (head >= size) return new ChainError('VU-DP-004', `head ${head} ≥ queue size ${size}`, head);
    let view = table;
    let base = 0;
    let count = size;
    let ttl = size;
    let idx = head;
    let inIndirect = false;
    for (;;) {
      if (ttl-- === 0) {
        return new ChainError('VU-DP-005', `chain longer than ${inIndirect ? `indirect table (${count})` : `queue size ${size}`}: loop?`, head);
      }
      out.descCount++;
      const off = base + idx * SPLIT_DESC.SIZE;
      // Each field read once (VU-DP-015): later decisions use these locals only.
      const le = this.le;
      const lo = view.getUint32(off + this.addrLo, le);
      const hi = view.getUint32(off + this.addrHi, le);
      const len = view.getUint32(off + SPLIT_DESC.LEN, le);
      const flags = view.getUint16(off + SPLIT_DESC.FLAGS, le);
      const next = view.getUint16(off + SPLIT_DESC.NEXT, le);
      if ((flags & DescFlag.INDIRECT) !== 0) {
        if (inIndirect) return new ChainError('VU-DP-016', `nested INDIRECT at table entry ${idx}`, head);
        const err = this.checkIndirect(flags, len, head);
        if (err !== undefined) return err;
        const t = this.locate(lo, hi, len);
        if (t < 0) return new ChainError('VU-DP-017', `indirect table ${hex(lo, hi)}+${len} not inside one region`, head);
        // WRITE on the pointer descriptor is ignored (virtio §2.7.5.3.2).
        view = this.views[t];
        base = hi * TWO_32 + lo - this.starts[t];
        count = len / SPLIT_DESC.SIZE;
        ttl = count;
        idx = 0;
        inIndirect = true;
        out.indirect = true;
        continue;
      }
      const err = this.addBuffer(out, lo, hi, len, (flags & DescFlag.WRITE) !== 0, head);
      if (err !== undefined) return err;
      if ((flags & DescFlag.NEXT) === 0) break;
      if (next >= count) {
        return new ChainError('VU-DP-004', `next ${next} ≥ ${inIndirect ? `indirect table length ${count}` : `queue size ${size}`}`, head);
      }
      idx = next;
    }
    out.finish();
    return out;
  }

  /**
   * Walks the packed chain starting at ring slot `start`, whose descriptors must be available for
   * wrap counter `wrap` (flipping when the chain passes the end of the ring), into `out`.
   * `out.head` becomes the buffer id of the last descriptor and `out.ringSlots` the slots used.
   * The caller has already seen the first descriptor available.
   */
  walkPacked(ring: DataView, start: number, wrap: boolean, out: Chain): Chain | ChainError {
    out.reset(0);
    const size = this.size;
    let slot = start;
    let w = wrap;
    let id = 0;
    for (;;) {
      if (out.ringSlots === size) return new ChainError('VU-PK-005', `chain longer than ring size ${size}`, start);
      const off = slot * PACKED_DESC.SIZE;
      // Flags first: x86-64 does not reorder loads, so the fields below are at least as new as
      // the AVAIL flip we saw (the driver writes them before the flags).
      const flags = ring.getUint16(off + PACKED_DESC.FLAGS, true);
      const avail = (flags & PackedDescFlag.AVAIL) !== 0;
      const usedBit = (flags & PackedDescFlag.USED) !== 0;
      if ((avail !== w || usedBit === w) && !(this.uncheckedChainTail && out.ringSlots > 0)) {
        return new ChainError('VU-PK-002', `chain continues at slot ${slot} but that descriptor is not available (flags 0x${flags.toString(16)}, wrap ${w ? 1 : 0})`, start);
      }
      const lo = ring.getUint32(off + PACKED_DESC.ADDR, true);
      const hi = ring.getUint32(off + PACKED_DESC.ADDR + 4, true);
      const len = ring.getUint32(off + PACKED_DESC.LEN, true);
      id = ring.getUint16(off + PACKED_DESC.ID, true);
      out.ringSlots++;
      out.descCount++;
      if (++slot === size) {
        slot = 0;
        w = !w;
      }
      if ((flags & PackedDescFlag.INDIRECT) !== 0) {
        const err = this.walkPackedIndirect(out, flags, lo, hi, len, start);
        if (err !== undefined) return err;
        break; // INDIRECT without NEXT (checked) ends the chain.
      }
      const err = this.addBuffer(out, lo, hi, len, (flags & PackedDescFlag.WRITE) !== 0, start);
      if (err !== undefined) return err;
      if ((flags & PackedDescFlag.NEXT) === 0) break;
    }
    out.head = id;
    out.finish();
    return out;
  }

  private walkPackedIndirect(out: Chain, flags: number, lo: number, hi: number, len: number, start: number): ChainError | undefined {
    const err = this.checkIndirect(flags, len, start);
    if (err !== undefined) return err;
    const t = this.locate(lo, hi, len);
    if (t < 0) return new ChainError('VU-DP-017', `indirect table ${hex(lo, hi)}+${len} not inside one region`, start);
    out.indirect = true;
    const view = this.views[t];
    const base = hi * TWO_32 + lo - this.starts[t];
    const n = len / PACKED_DESC.SIZE;
    // Packed tables are walked in order; only WRITE is honoured, id and other flags (including a
    // nested INDIRECT) are ignored (virtio §2.8.7, VU-PK-008).
    for (let i = 0; i < n; i++) {
      const off = base + i * PACKED_DESC.SIZE;
      const elo = view.getUint32(off + PACKED_DESC.ADDR, true);
      const ehi = view.getUint32(off + PACKED_DESC.ADDR + 4, true);
      const elen = view.getUint32(off + PACKED_DESC.LEN, true);
      const eflags = view.getUint16(off + PACKED_DESC.FLAGS, true);
      out.descCount++;
      const e = this.addBuffer(out, elo, ehi, elen, (eflags & PackedDescFlag.WRITE) !== 0, start);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  // Rules shared by both formats for the descriptor that points at an indirect table.
  private checkIndirect(flags: number, len: number, head: number): ChainError | undefined {
    if (!this.indirect) return new ChainError('VU-DP-016', 'INDIRECT used but VIRTIO_RING_F_INDIRECT_DESC not negotiated', head);
    if ((flags & DescFlag.NEXT) !== 0) return new ChainError('VU-DP-016', 'INDIRECT and NEXT set on the same descriptor', head);
    if (len === 0 || len % SPLIT_DESC.SIZE !== 0) return new ChainError('VU-DP-016', `indirect table length ${len} is not a non-zero multiple of 16`, head);
    if (len / SPLIT_DESC.SIZE > this.size) {
      return new ChainError('VU-DP-017', `indirect table of ${len / SPLIT_DESC.SIZE} entries exceeds queue size ${this.size}`, head);
    }
    return undefined;
  }

  /**
   * Appends one buffer. Zero-length buffers are skipped (CHECKLIST D8: not forbidden by virtio,
   * and they carry no bytes). A buffer spanning GPA-contiguous regions becomes several segments.
   */
  private addBuffer(out: Chain, lo: number, hi: number, len: number, write: boolean, head: number): ChainError | undefined {
    if (len === 0) return undefined;
    if (!write && out.writableBytes > 0) {
      return new ChainError('VU-DP-013', 'device-readable descriptor after a device-writable one (virtio §2.7.4)', head);
    }
    if (hi >= HI_LIMIT) return new ChainError('VU-DP-014', `buffer ${hex(lo, hi)}+${len} outside guest memory`, head);
    let addr = hi * TWO_32 + lo;
    // Fast path (nearly every buffer): wholly inside the region the last lookup hit, one segment.
    const h = this.lastHit;
    if (this.regions === this.mem.regions && h < this.starts.length && addr >= this.starts[h] && addr + len <= this.ends[h]) {
      const s = out.take(write);
      s.addr = addr;
      s.len = len;
      s.host = this.hosts[h];
      s.view = this.views[h];
      s.words = this.words[h];
      s.hostOffset = addr - this.starts[h];
      if (write) out.writableBytes += len;
      else out.readableBytes += len;
      return undefined;
    }
    let left = len;
    // addr < 2^53 and len < 2^32: an inexact sum can only round up past every region end, so the
    // comparison below still rejects it.
    while (left > 0) {
      const r = this.find(addr);
      if (r < 0) return new ChainError('VU-DP-014', `buffer ${hex(lo, hi)}+${len} outside guest memory (at 0x${addr.toString(16)})`, head);
      const n = Math.min(left, this.ends[r] - addr);
      const s = out.take(write);
      s.addr = addr;
      s.len = n;
      s.host = this.hosts[r];
      s.view = this.views[r];
      s.words = this.words[r];
      s.hostOffset = addr - this.starts[r];
      addr += n;
      left -= n;
    }
    if (write) out.writableBytes += len;
    else out.readableBytes += len;
    return undefined;
  }

  /**
   * The packed fast path's buffer check: fills `out` when `[lo/hi, +len)` is non-empty and lies
   * wholly inside the region the last lookup hit, with the table unchanged since. False means
   * "walk it the general way" (which also refreshes the hit), not that the buffer is bad.
   */
  flat(out: Segment, lo: number, hi: number, len: number): boolean {
    if (len === 0 || hi >= HI_LIMIT) return false;
    const addr = hi * TWO_32 + lo;
    const h = this.lastHit;
    if (this.regions !== this.mem.regions || h >= this.starts.length || addr < this.starts[h] || addr + len > this.ends[h]) return false;
    out.addr = addr;
    out.len = len;
    out.host = this.hosts[h];
    out.view = this.views[h];
    out.words = this.words[h];
    out.hostOffset = addr - this.starts[h];
    return true;
  }

  // Region containing [lo/hi, +len) entirely, or -1.
  private locate(lo: number, hi: number, len: number): number {
    if (hi >= HI_LIMIT) return -1;
    const addr = hi * TWO_32 + lo;
    const r = this.find(addr);
    return r >= 0 && addr + len <= this.ends[r] ? r : -1;
  }

  // Region containing byte `addr`, or -1; a one-entry cache then binary search.
  private find(addr: number): number {
    if (this.regions !== this.mem.regions) this.rebuild();
    const h = this.lastHit;
    if (h < this.starts.length && addr >= this.starts[h] && addr < this.ends[h]) return h;
    let a = 0;
    let b = this.starts.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (addr < this.starts[m]) b = m - 1;
      else if (addr >= this.ends[m]) a = m + 1;
      else {
        this.lastHit = m;
        return m;
      }
    }
    return -1;
  }

  private rebuild(): void {
    const regions = this.mem.regions;
    const sorted = [...regions].sort((x, y) => x.guestPhysAddr - y.guestPhysAddr);
    this.regions = regions;
    this.starts = sorted.map((r) => r.guestPhysAddr);
    this.ends = sorted.map((r) => r.guestPhysAddr + r.size);
    this.views = sorted.map((r) => new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
    this.hosts = sorted.map((r) => r.bytes);
    this.words = sorted.map((r) =>
      r.bytes.byteOffset % 4 === 0 ? new Int32Array(r.bytes.buffer, r.bytes.byteOffset, Math.floor(r.bytes.byteLength / 4)) : EMPTY_WORDS,
    );
    this.lastHit = 0;
  }
}

const hex = (lo: number, hi: number): string => `0x${((BigInt(hi) << 32n) | BigInt(lo)).toString(16)}`;

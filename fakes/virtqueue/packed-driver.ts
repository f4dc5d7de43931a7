/**
 * The driver side of a packed virtqueue (virtio 1.2 §2.8, §2.8.21 "Driver notes"): what our
 * front-end runs for `--packed` traffic. It places the ring and both event areas in guest memory,
 * adds chains (direct, chained, indirect) under buffer ids, publishes them, polls used
 * descriptors, decides kicks from the device event area and suppresses interrupts through the
 * driver event area.
 *
 * Ordering (SAFETY, x86-64, shared guest memory): every descriptor field is stored before its
 * flags, and a chain's head flags are stored after all its other descriptors; {@link publish}
 * stores the first pending head last, so a batch appears to the device at once. On the used side
 * we load flags before id and len (x86-64 keeps loads in order).
 *
 * The device is untrusted here (we test back-ends): a used descriptor naming an id that is not in
 * flight is recorded in {@link PackedQueueDriver.tracker} and stops the queue.
 * @module
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { PACKED_DESC, PACKED_EVENT, PackedDescFlag, PackedEventFlag, PACKED_WRAP_BIT, isValidPackedQueueSize } from '../wire/ring-layout.js';
import type { LifetimeViolation } from './chain.js';
import { QueueConfigError, QueueStateError, storeLoadFence, type VringConfig } from './queue-config.js';

/**
 * Reserves `size` bytes of guest memory aligned to `align` and returns its GPA (the shape of the
 * memory folder's guest allocator; typed as a function so this file does not depend on it).
 */
export type GpaAllocFn = (size: number, align: number) => number;

/** Options of {@link PackedQueueDriver.create}. */
export interface PackedDriverOptions {
  /** Queue size, 1..32768. */
  readonly size: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated (default false). */
  readonly eventIdx?: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated (default false). */
  readonly indirect?: boolean;
  /** Entries of each id's indirect table, allocated on first use (default 16). */
  readonly maxIndirect?: number;
  /**
   * VIRTIO_F_IN_ORDER negotiated (default false): the device may complete a run of buffers with
   * one used descriptor naming the run's last id (virtio §2.8.9, VU-ORD-002), and the driver
   * retires the run in the order the buffers were made available.
   */
  readonly inOrder?: boolean;
}

/** One buffer of a chain. */
export interface BufferSpec {
  /** Guest-physical address. */
  readonly addr: number;
  /** Length in bytes. */
  readonly len: number;
  /** Device-writable (otherwise device-readable). */
  readonly write: boolean;
}

/**
 * Values a driver may put in the fields of an indirect chain the device must ignore (virtio
 * §2.8.7; CHECKLIST VU-PK-008): a buffer id and flags other than WRITE in the table's entries, and
 * WRITE on the descriptor that points at the table. For the checks that garbage there changes
 * nothing; a well-behaved driver leaves them zero.
 */
export interface HostileIndirect {
  /** Buffer id stored in every table entry (default 0). */
  readonly tableId?: number;
  /** Flags OR-ed into every table entry (WRITE is masked off: it stays the buffer's own). */
  readonly tableFlags?: number;
  /** Set WRITE on the pointer descriptor. */
  readonly pointerWrite?: boolean;
}

/** A used buffer as {@link PackedQueueDriver.popUsedInto} reports it. */
export interface UsedOut {
  /** Buffer id. */
  id: number;
  /** Bytes the device wrote. */
  len: number;
  /** The device set WRITE in the used descriptor. */
  written?: boolean;
}

/**
 * A device behaviour the driver observed that breaks a CHECKLIST requirement; the same shape as
 * the split driver's lifetime violations, so traffic reports treat both alike.
 */
export type DriverViolation = LifetimeViolation;

const TWO_32 = 0x1_0000_0000;

/** Driver side of one packed virtqueue. Build it with {@link PackedQueueDriver.create}. */
export class PackedQueueDriver {
  /** Queue size. */
  readonly size: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated. */
  readonly eventIdx: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated. */
  readonly indirect: boolean;
  /** VIRTIO_F_IN_ORDER negotiated. */
  readonly inOrder: boolean;
  /** Buffers retired as part of an in-order batch without a used descriptor of their own. */
  batchedBuffers = 0;
  /** GPA of the descriptor ring (16-aligned). */
  readonly descAddr: number;
  /** GPA of the driver event suppression area (4-aligned). */
  readonly driverEventAddr: number;
  /** GPA of the device event suppression area (4-aligned). */
  readonly deviceEventAddr: number;
  /** Violations by the device seen so far. */
  readonly tracker: { readonly violations: DriverViolation[] } = { violations: [] };

  private readonly mem: GuestMemory;
  private readonly alloc: GpaAllocFn;
  private readonly maxIndirect: number;
  private readonly ring: DataView;
  private readonly driverEvent: DataView;
  private readonly deviceEvent: DataView;
  private nextAvail = 0;
  private availWrap = true;
  private lastUsed = 0;
  private usedWrap = true;
  private free: number;
  // Free buffer ids (a stack), and per id: ring slots taken and whether it is in flight.
  private readonly idStack: Uint16Array;
  private idTop: number;
  private readonly idSlots: Uint16Array;
  /** Writable bytes of each in-flight id's buffers, to check a used `len` against. */
  private readonly idWritable: Uint32Array;
  private readonly idBusy: Uint8Array;
  private readonly idTable: Float64Array;
  // Heads added but not yet published: their slots and the flags to store.
  private readonly pendSlot: Uint16Array;
  private readonly pendFlags: Uint16Array;
  private pendCount = 0;
  // IN_ORDER: ids in flight in the order made available (a ring buffer), and the batch being
  // retired: the id its used descriptor names (-1: none) with that descriptor's len and WRITE.
  private readonly availOrder: Uint16Array;
  private orderHead = 0;
  private orderCount = 0;
  private batchEnd = -1;
  private batchLen = 0;
  private batchWritten = false;
  private addedSinceKick = 0;
  private broken = false;

  private constructor(mem: GuestMemory, alloc: GpaAllocFn, opts: PackedDriverOptions) {
    const n = opts.size;
    this.mem = mem;
    this.alloc = alloc;
    this.size = n;
    this.eventIdx = opts.eventIdx ?? false;
    this.indirect = opts.indirect ?? false;
    this.inOrder = opts.inOrder ?? false;
    this.availOrder = new Uint16Array(this.inOrder ? n : 0);
    this.maxIndirect = opts.maxIndirect ?? 16;
    this.descAddr = alloc(PACKED_DESC.SIZE * n, PACKED_DESC.ALIGN);
    this.driverEventAddr = alloc(PACKED_EVENT.SIZE, PACKED_EVENT.ALIGN);
    this.deviceEventAddr = alloc(PACKED_EVENT.SIZE, PACKED_EVENT.ALIGN);
    this.ring = view(mem, this.descAddr, PACKED_DESC.SIZE * n);
    this.driverEvent = view(mem, this.driverEventAddr, PACKED_EVENT.SIZE);
    this.deviceEvent = view(mem, this.deviceEventAddr, PACKED_EVENT.SIZE);
    // A zeroed ring has no available descriptors for wrap counters at 1 (virtio §2.8.1); the
    // allocator may hand out reused memory, so zero it ourselves. Event flags 0 = ENABLE.
    zero(this.ring);
    zero(this.driverEvent);
    zero(this.deviceEvent);
    this.free = n;
    this.idStack = new Uint16Array(n);
    for (let i = 0; i < n; i++) this.idStack[i] = n - 1 - i; // pop order 0, 1, 2, …
    this.idTop = n;
    this.idSlots = new Uint16Array(n);
    this.idWritable = new Uint32Array(n);
    this.idBusy = new Uint8Array(n);
    this.idTable = new Float64Array(n).fill(-1);
    this.pendSlot = new Uint16Array(n);
    this.pendFlags = new Uint16Array(n);
  }

  /**
   * Places a packed ring of `opts.size` descriptors (align 16) and the two event areas (align 4)
   * with `alloc`, and zeroes them. Throws {@link QueueConfigError} for a size outside 1..32768.
   */
  static create(mem: GuestMemory, alloc: GpaAllocFn, opts: PackedDriverOptions): PackedQueueDriver {
    if (!isValidPackedQueueSize(opts.size)) {
      throw new QueueConfigError(`size ${String(opts.size)} outside 1..32768`, {
        format: 'packed', size: opts.size, descAddr: 0, availAddr: 0, usedAddr: 0, eventIdx: false, indirect: false, inOrder: false,
      });
    }
    return new PackedQueueDriver(mem, alloc, opts);
  }

  /** The {@link VringConfig} a device needs for this ring (what SET_VRING_* will carry). */
  vringConfig(extra: Partial<VringConfig> = {}): VringConfig {
    return {
      format: 'packed', size: this.size, descAddr: this.descAddr, availAddr: this.driverEventAddr, usedAddr: this.deviceEventAddr,
      eventIdx: this.eventIdx, indirect: this.indirect, inOrder: this.inOrder, ...extra,
    };
  }

  /** The slot the next chain will start at (for cases that check which slots a device writes). */
  get availPosition(): number {
    return this.nextAvail;
  }

  /** Ring slots not held by chains in flight or pending. */
  get freeSlots(): number {
    return this.free;
  }

  /** Buffer ids in flight (added, not yet returned used). */
  get inFlight(): number {
    return this.size - this.idTop;
  }

  /**
   * Where the driver stands: the next slot it will fill (with its wrap counter) and the next slot
   * it expects a used descriptor in (with the used wrap counter). Once every chain the device took
   * is used, the latter is what GET_VRING_BASE must report for both halves (CHECKLIST §3.3).
   */
  position(): { nextAvail: number; availWrap: boolean; nextUsed: number; usedWrap: boolean } {
    return { nextAvail: this.nextAvail, availWrap: this.availWrap, nextUsed: this.lastUsed, usedWrap: this.usedWrap };
  }

  /** Fast path: adds a one-buffer chain; returns its id, or -1 when the ring is full. */
  addSingle(addr: number, len: number, writable: boolean): number {
    if (this.broken || this.free === 0 || this.idTop === 0) return -1;
    const id = this.idStack[--this.idTop];
    this.pendSlot[this.pendCount] = this.nextAvail;
    this.pendFlags[this.pendCount++] = this.writeDesc(addr, len, id, writable ? PackedDescFlag.WRITE : 0, false);
    this.claim(id, 1, writable ? len : 0);
    return id;
  }

  /**
   * Adds a chain of `buffers` (readable ones first, virtio §2.7.4) in consecutive slots, NEXT on
   * all but the last, the id in every descriptor. Returns the id, or -1 when there is no room.
   */
  addChain(buffers: readonly BufferSpec[]): number {
    const n = buffers.length;
    if (this.broken || n === 0 || n > this.free || this.idTop === 0) return -1;
    const id = this.idStack[--this.idTop];
    this.pendSlot[this.pendCount] = this.nextAvail;
    for (let i = 0; i < n; i++) {
      const b = buffers[i];
      const flags = (b.write ? PackedDescFlag.WRITE : 0) | (i < n - 1 ? PackedDescFlag.NEXT : 0);
      const f = this.writeDesc(b.addr, b.len, id, flags, i > 0);
      if (i === 0) this.pendFlags[this.pendCount++] = f;
    }
    this.claim(id, n, writableLen(buffers));
    return id;
  }

  /**
   * Adds `buffers` through an indirect table (virtio §2.8.7): one ring slot whose descriptor points
   * at the id's table (allocated on first use, `maxIndirect` entries). Returns the id, or -1 when
   * there is no room. Throws {@link QueueStateError} without INDIRECT_DESC or for too many buffers.
   */
  addIndirect(buffers: readonly BufferSpec[], hostile: HostileIndirect = {}): number {
    const n = buffers.length;
    if (!this.indirect) throw new QueueStateError('addIndirect without VIRTIO_RING_F_INDIRECT_DESC');
    if (n === 0 || n > this.maxIndirect || n > this.size) throw new QueueStateError(`indirect chain of ${n} buffers (max ${Math.min(this.maxIndirect, this.size)})`);
    if (this.broken || this.free === 0 || this.idTop === 0) return -1;
    const id = this.idStack[--this.idTop];
    let table = this.idTable[id];
    if (table < 0) {
      table = this.alloc(PACKED_DESC.SIZE * this.maxIndirect, PACKED_DESC.ALIGN);
      this.idTable[id] = table;
    }
    const t = view(this.mem, table, PACKED_DESC.SIZE * n);
    for (let i = 0; i < n; i++) {
      const b = buffers[i];
      const off = i * PACKED_DESC.SIZE;
      // Only WRITE is meaningful in a packed indirect table (virtio §2.8.7).
      setAddr(t, off, b.addr);
      t.setUint32(off + PACKED_DESC.LEN, b.len, true);
      t.setUint16(off + PACKED_DESC.ID, hostile.tableId ?? 0, true);
      t.setUint16(off + PACKED_DESC.FLAGS, (b.write ? PackedDescFlag.WRITE : 0) | ((hostile.tableFlags ?? 0) & ~PackedDescFlag.WRITE), true);
    }
    this.pendSlot[this.pendCount] = this.nextAvail;
    const pointer = PackedDescFlag.INDIRECT | (hostile.pointerWrite === true ? PackedDescFlag.WRITE : 0);
    this.pendFlags[this.pendCount++] = this.writeDesc(table, PACKED_DESC.SIZE * n, id, pointer, false);
    this.claim(id, 1, writableLen(buffers));
    return id;
  }

  // Writes one ring descriptor at nextAvail and advances; returns its flags (stored now when
  // `store`, else left to publish()).
  private writeDesc(addr: number, len: number, id: number, flags: number, store: boolean): number {
    const off = this.nextAvail * PACKED_DESC.SIZE;
    const f = flags | (this.availWrap ? PackedDescFlag.AVAIL : PackedDescFlag.USED);
    setAddr(this.ring, off, addr);
    this.ring.setUint32(off + PACKED_DESC.LEN, len, true);
    this.ring.setUint16(off + PACKED_DESC.ID, id, true);
    if (store) this.ring.setUint16(off + PACKED_DESC.FLAGS, f, true);
    if (++this.nextAvail === this.size) {
      this.nextAvail = 0;
      this.availWrap = !this.availWrap;
    }
    return f;
  }

  private claim(id: number, slots: number, writable: number): void {
    this.idSlots[id] = slots;
    this.idWritable[id] = writable;
    this.idBusy[id] = 1;
    if (this.inOrder) this.availOrder[(this.orderHead + this.orderCount++) % this.size] = id;
    this.free -= slots;
    this.addedSinceKick += slots;
  }

  /**
   * Makes every chain added since the last call visible: later heads' flags first, the first
   * head's flags last (ORDERING: that one store publishes the batch, VU-PK-006).
   */
  publish(): void {
    const k = this.pendCount;
    if (k === 0) return;
    for (let i = 1; i < k; i++) this.ring.setUint16(this.pendSlot[i] * PACKED_DESC.SIZE + PACKED_DESC.FLAGS, this.pendFlags[i], true);
    this.ring.setUint16(this.pendSlot[0] * PACKED_DESC.SIZE + PACKED_DESC.FLAGS, this.pendFlags[0], true);
    this.pendCount = 0;
  }

  // See PackedQueueDevice: position with wrap as an index in [0, 2·size).
  private vpos(p: number, w: boolean): number {
    return w ? p : p + this.size;
  }

  /**
   * Whether to kick for what was published since the last call (virtio §2.8.10): device event
   * flags ENABLE → yes, DISABLE → no, DESC (with EVENT_IDX) → yes iff the published slots cover
   * the device's event offset/wrap.
   */
  needsKick(): boolean {
    // Our flag stores must be visible before we read the device's suppression state.
    storeLoadFence();
    const added = this.addedSinceKick;
    this.addedSinceKick = 0;
    if (added === 0) return false;
    const flags = this.deviceEvent.getUint16(PACKED_EVENT.FLAGS, true) & 3;
    if (flags === PackedEventFlag.DISABLE) return false;
    if (flags !== PackedEventFlag.DESC || !this.eventIdx) return true;
    const offWrap = this.deviceEvent.getUint16(PACKED_EVENT.OFF_WRAP, true);
    const off = offWrap & 0x7fff;
    if (off >= this.size) return true;
    const ring2 = 2 * this.size;
    const now = this.vpos(this.nextAvail, this.availWrap);
    const old = (now - added + ring2) % ring2;
    return (this.vpos(off, (offWrap & PACKED_WRAP_BIT) !== 0) - old + ring2) % ring2 < added;
  }

  /** Whether the next used slot holds a used descriptor (a fresh read of its flags). */
  hasUsed(): boolean {
    return this.batchEnd >= 0 || this.isUsed(this.ring.getUint16(this.lastUsed * PACKED_DESC.SIZE + PACKED_DESC.FLAGS, true));
  }

  /**
   * How many used descriptors the device has published past the driver's position, counted
   * without popping them (reads flags and ids only): for cases that look at the ring before the
   * driver takes anything back. An id not in flight ends the count (popUsedInto reports it).
   */
  usedPending(): number {
    let slot = this.lastUsed;
    let wrap = this.usedWrap;
    let n = 0;
    while (n < this.size) {
      const off = slot * PACKED_DESC.SIZE;
      const flags = this.ring.getUint16(off + PACKED_DESC.FLAGS, true);
      if (((flags & PackedDescFlag.AVAIL) !== 0) !== wrap || ((flags & PackedDescFlag.USED) !== 0) !== wrap) break;
      const id = this.ring.getUint16(off + PACKED_DESC.ID, true);
      if (id >= this.size || this.idBusy[id] === 0) break;
      n++;
      slot += this.idSlots[id];
      if (slot >= this.size) {
        slot -= this.size;
        wrap = !wrap;
      }
    }
    return n;
  }

  private isUsed(flags: number): boolean {
    return ((flags & PackedDescFlag.AVAIL) !== 0) === this.usedWrap && ((flags & PackedDescFlag.USED) !== 0) === this.usedWrap;
  }

  /**
   * Fast path: moves the next used buffer into `out` and frees its id and slots. Returns false
   * when there is none, or when the device wrote a used descriptor for an id not in flight
   * (recorded as VU-PK-003; the queue then stays stopped).
   */
  popUsedInto(out: UsedOut): boolean {
    if (this.broken) return false;
    if (this.inOrder) return this.popInOrder(out);
    const off = this.lastUsed * PACKED_DESC.SIZE;
    const flags = this.ring.getUint16(off + PACKED_DESC.FLAGS, true);
    if (!this.isUsed(flags)) return false;
    const id = this.ring.getUint16(off + PACKED_DESC.ID, true);
    const len = this.ring.getUint32(off + PACKED_DESC.LEN, true);
    if (id >= this.size || this.idBusy[id] === 0) {
      this.broken = true;
      this.tracker.violations.push({ rule: 'VU-PK-003', head: id, detail: `used descriptor at slot ${this.lastUsed} names id ${id}, which is not in flight` });
      return false;
    }
    // Without WRITE the element length is reserved and ignored by drivers (virtio 1.2 §2.8.4), so
    // a len there is not a violation (DPDK reports the bytes it read). With WRITE, the device
    // claims it wrote `len` bytes: that must fit the writable part of the buffer.
    const written = (flags & PackedDescFlag.WRITE) !== 0;
    if (written && len > this.idWritable[id]) {
      this.tracker.violations.push({ rule: 'VU-DP-008', head: id, detail: `used id ${id} reports ${len} bytes written but its buffers have ${this.idWritable[id]} writable bytes (used flags 0x${flags.toString(16)})` });
    }
    this.retire(id);
    out.id = id;
    out.len = len;
    out.written = written;
    return true;
  }

  /**
   * popUsedInto under IN_ORDER: the used descriptor at the driver's position names the last
   * buffer of a batch that starts with the oldest buffer in flight; the buffers before it are
   * retired one per call without reading the ring (len 0; the descriptor's len belongs to the
   * last, virtio §2.8.9). An id not in flight stops the queue as in the general path.
   */
  private popInOrder(out: UsedOut): boolean {
    if (this.batchEnd < 0) {
      const off = this.lastUsed * PACKED_DESC.SIZE;
      const flags = this.ring.getUint16(off + PACKED_DESC.FLAGS, true);
      if (!this.isUsed(flags)) return false;
      const id = this.ring.getUint16(off + PACKED_DESC.ID, true);
      if (id >= this.size || this.idBusy[id] === 0 || this.orderCount === 0) {
        this.broken = true;
        this.tracker.violations.push({ rule: 'VU-PK-003', head: id, detail: `used descriptor at slot ${this.lastUsed} names id ${id}, which is not in flight` });
        return false;
      }
      this.batchEnd = id;
      this.batchLen = this.ring.getUint32(off + PACKED_DESC.LEN, true);
      this.batchWritten = (flags & PackedDescFlag.WRITE) !== 0;
    }
    const id = this.availOrder[this.orderHead];
    this.orderHead = (this.orderHead + 1) % this.size;
    this.orderCount--;
    const last = id === this.batchEnd;
    if (last) this.batchEnd = -1;
    else this.batchedBuffers++;
    const len = last ? this.batchLen : 0;
    const written = last && this.batchWritten;
    if (written && len > this.idWritable[id]) {
      this.tracker.violations.push({ rule: 'VU-DP-008', head: id, detail: `used id ${id} reports ${len} bytes written but its buffers have ${this.idWritable[id]} writable bytes` });
    }
    this.retire(id);
    out.id = id;
    out.len = len;
    out.written = written;
    return true;
  }

  // Frees `id`'s slots and moves the driver's used position past them.
  private retire(id: number): void {
    const slots = this.idSlots[id];
    this.idBusy[id] = 0;
    this.idStack[this.idTop++] = id;
    this.free += slots;
    this.lastUsed += slots;
    if (this.lastUsed >= this.size) {
      this.lastUsed -= this.size;
      this.usedWrap = !this.usedWrap;
    }
  }

  /** Allocating convenience over {@link popUsedInto}. */
  pollUsed(): Required<UsedOut> | undefined {
    const out = { id: 0, len: 0, written: false };
    return this.popUsedInto(out) ? out : undefined;
  }

  /**
   * Enables or disables interrupts through the driver event area (virtio §2.8.10): DISABLE;
   * ENABLE; or with EVENT_IDX, DESC at the next used slot we will read. Returns, after enabling,
   * whether a used buffer is already waiting (it raised no interrupt).
   */
  setInterrupts(enabled: boolean): boolean {
    if (!enabled) {
      this.driverEvent.setUint16(PACKED_EVENT.FLAGS, PackedEventFlag.DISABLE, true);
      return false;
    }
    if (this.eventIdx) {
      // ORDERING: off_wrap before flags.
      this.driverEvent.setUint16(PACKED_EVENT.OFF_WRAP, this.lastUsed | (this.usedWrap ? PACKED_WRAP_BIT : 0), true);
      this.driverEvent.setUint16(PACKED_EVENT.FLAGS, PackedEventFlag.DESC, true);
    } else {
      this.driverEvent.setUint16(PACKED_EVENT.FLAGS, PackedEventFlag.ENABLE, true);
    }
    storeLoadFence();
    return this.hasUsed();
  }
}

function view(mem: GuestMemory, gpa: number, len: number): DataView {
  const b = mem.slice(gpa, len);
  // SAFETY: guest memory shared with the device; accesses ordered as the module header says.
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function zero(v: DataView): void {
  new Uint8Array(v.buffer, v.byteOffset, v.byteLength).fill(0);
}

function setAddr(v: DataView, off: number, addr: number): void {
  v.setUint32(off + PACKED_DESC.ADDR, addr % TWO_32, true);
  v.setUint32(off + PACKED_DESC.ADDR + 4, Math.floor(addr / TWO_32), true);
}

function writableLen(buffers: readonly BufferSpec[]): number {
  let n = 0;
  for (const b of buffers) if (b.write) n += b.len;
  return n;
}

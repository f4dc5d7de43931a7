/**
 * The driver side of a split virtqueue (virtio 1.2 §2.7) in guest memory: what a guest's
 * virtio driver does, for the fake front-end, conformance cases and traffic runs.
 *
 * Two paths:
 * - `addChain` / `popUsed`: general (chains, indirect tables, bigint addresses), allocates; for
 *   correctness tests.
 * - `addSingle` / `popUsedInto` / `drainUsed`: the per-packet fast path. It allocates nothing and
 *   works on typed-array views laid directly over the ring memory (the rings sit at 16/2/4-byte
 *   aligned GPAs, and regions start at aligned buffer offsets, so the views are aligned).
 *
 * SAFETY (shared memory): with memfd-backed guest memory the views are over MAP_SHARED pages the
 * back-end reads and writes from another process at the same time. Typed arrays are host-endian;
 * vhostlab runs on little-endian x86-64 only (checked in {@link SplitQueueDriver.create}), where
 * that is the ring's byte order (VERSION_1). Ordering is discussed where it matters: `publish`,
 * `needsKick`, `suppressInterrupts`, `popUsedInto`.
 *
 * Ownership (VU-DP-019): a chain belongs to the device from the `avail->idx` store that covers it
 * until the `used->idx` store that returns it. The driver never rewrites a descriptor it has
 * published and frees a chain only when the device returns its head; a used element naming a
 * head that is not in flight is recorded by the {@link LifetimeTracker} and skipped, so a broken
 * device cannot corrupt the free list or make the caller see a bogus completion.
 * @module
 */

import { endianness } from 'node:os';
import { GuestMemoryError, GuestMemoryErrorReason } from '../memory/guest-memory.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { GuestAllocator } from '../memory/allocator.js';
import {
  AVAIL_F_NO_INTERRUPT,
  DescFlag,
  SPLIT_AVAIL,
  SPLIT_DESC,
  SPLIT_USED,
  USED_F_NO_NOTIFY,
  isValidSplitQueueSize,
  splitAvailEventOffset,
  splitAvailSize,
  splitDescTableSize,
  splitUsedEventOffset,
  splitUsedSize,
  vringNeedEvent,
} from '../wire/ring-layout.js';
import type { BufferSegment, SplitQueueLayout, UsedElement } from './chain.js';
import { LifetimeTracker } from './lifetime-tracker.js';
import type { LifetimeTrackerOptions } from './lifetime-tracker.js';

/** Options of {@link SplitQueueDriver.create}. */
export interface SplitQueueDriverOptions {
  /** Queue size: a power of two, 1…32768. */
  readonly size: number;
  /** VIRTIO_F_EVENT_IDX was negotiated: use `used_event` / `avail_event` instead of the flags. */
  readonly eventIdx?: boolean;
  /** VIRTIO_F_INDIRECT_DESC was negotiated: `addChain(…, {indirect: true})` is allowed. */
  readonly indirect?: boolean;
  /** Options of the always-on {@link LifetimeTracker}. */
  readonly tracker?: LifetimeTrackerOptions;
}

/** Options of {@link SplitQueueDriver.addChain}. */
export interface AddChainOptions {
  /** Put the chain in an indirect table (needs `indirect` at create time). */
  readonly indirect?: boolean;
}

/** Head states, mirrored in the tracker. */
const FREE = 0;
const STAGED = 1;
const AVAIL = 2;

const TWO_32 = 4294967296;
/** Smallest indirect table allocated, in descriptors; tables are kept per head and reused. */
const MIN_INDIRECT = 4;

/**
 * A full memory barrier. On x86-64 every LOCK-prefixed instruction orders all earlier loads and
 * stores before all later ones, for every address, not just the atomic's own; `Atomics.add` on a
 * SharedArrayBuffer is such an instruction (`lock xadd`) in V8's compiled code and in its runtime.
 * We need it exactly where x86-TSO allows a reordering: a store followed by a load of another
 * location (Linux uses virtio_mb() at the same spots).
 */
const FENCE = new Int32Array(new SharedArrayBuffer(4));
const fullFence = (): void => {
  Atomics.add(FENCE, 0, 0);
};

/** Views one ring as a typed array; GPA alignment must carry over to the buffer offset. */
function ringView<T extends Uint16Array | Uint32Array>(
  mem: GuestMemory,
  gpa: number,
  bytes: number,
  Ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const s = mem.slice(gpa, bytes);
  if (s.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) {
    throw new GuestMemoryError(
      `ring at GPA 0x${gpa.toString(16)} is not ${Ctor.BYTES_PER_ELEMENT}-byte aligned in its backing buffer (region mmapOffset − guestPhysAddr must be a multiple of 16)`,
      BigInt(gpa),
      bytes,
      GuestMemoryErrorReason.MISALIGNED,
    );
  }
  return new Ctor(s.buffer, s.byteOffset, bytes / Ctor.BYTES_PER_ELEMENT);
}

/** The driver side of one split virtqueue. Create with {@link SplitQueueDriver.create}. */
export class SplitQueueDriver {
  /** Where the rings are, in GPAs. */
  readonly layout: SplitQueueLayout;
  /** Descriptor lifetime checks (always on; readable copies and canaries are opt-in). */
  readonly tracker: LifetimeTracker;
  /** EVENT_IDX in use. */
  readonly eventIdx: boolean;
  /** Indirect descriptors allowed. */
  readonly indirect: boolean;

  readonly #mem: GuestMemory;
  readonly #alloc: GuestAllocator;
  readonly #size: number;
  readonly #mask: number;
  // SAFETY: views over ring memory shared with the device (see the module comment).
  // Descriptor i is desc32[4i … 4i+3] = addr low, addr high, len, flags | next << 16.
  readonly #desc32: Uint32Array;
  // [0] flags, [1] idx, [2 + i] ring[i], [2 + N] used_event.
  readonly #avail16: Uint16Array;
  // [0] flags, [1] idx, [2 + 4N] avail_event.
  readonly #used16: Uint16Array;
  // Used element i is used32[1 + 2i] = id, used32[2 + 2i] = len.
  readonly #used32: Uint32Array;
  readonly #usedEventIndex: number;
  readonly #availEventIndex: number;

  // Driver-private state: never read back from shared memory, which the device could corrupt.
  readonly #freeStack: Uint16Array;
  #freeTop = 0;
  readonly #nextOf: Uint16Array; // private copy of each descriptor's `next`
  readonly #chainDescs: Uint16Array; // table descriptors held by each in-flight head
  readonly #state: Uint8Array;
  readonly #ringShadow: Uint16Array; // heads written to each avail slot
  readonly #indirectAddr: Float64Array;
  readonly #indirectCap: Uint32Array;
  #availIdx = 0; // next avail slot to fill (staged entries included), mod 2^16
  #publishedIdx = 0; // value of the last avail->idx store
  #kickedIdx = 0; // avail->idx when needsKick last decided
  #lastUsedIdx = 0;
  #seenUsedIdx = 0; // last used->idx value loaded from memory
  #inFlight = 0;
  #suppressed = false;

  private constructor(mem: GuestMemory, alloc: GuestAllocator, layout: SplitQueueLayout, options: SplitQueueDriverOptions) {
    const n = layout.size;
    this.#mem = mem;
    this.#alloc = alloc;
    this.layout = layout;
    this.#size = n;
    this.#mask = n - 1;
    this.eventIdx = options.eventIdx ?? false;
    this.indirect = options.indirect ?? false;
    this.#desc32 = ringView(mem, layout.descAddr, splitDescTableSize(n), Uint32Array);
    this.#avail16 = ringView(mem, layout.availAddr, splitAvailSize(n), Uint16Array);
    // The used ring is 6 + 8N bytes: the u16 view covers all of it, the u32 view the 4 + 8N
    // bytes of header and elements (avail_event is read through the u16 view).
    this.#used16 = ringView(mem, layout.usedAddr, splitUsedSize(n), Uint16Array);
    this.#used32 = ringView(mem, layout.usedAddr, splitUsedSize(n) - 2, Uint32Array);
    this.#usedEventIndex = splitUsedEventOffset(n) / 2;
    this.#availEventIndex = splitAvailEventOffset(n) / 2;
    this.#freeStack = new Uint16Array(n);
    this.#nextOf = new Uint16Array(n);
    this.#chainDescs = new Uint16Array(n);
    this.#state = new Uint8Array(n);
    this.#ringShadow = new Uint16Array(n);
    this.#indirectAddr = new Float64Array(n);
    this.#indirectCap = new Uint32Array(n);
    this.tracker = new LifetimeTracker(mem, n, options.tracker);
    this.#resetState();
  }

  /**
   * Places the descriptor table (align 16), available ring (align 2) and used ring (align 4)
   * with `alloc`, zeroes them, and returns the driver. Throws RangeError on a bad size and
   * {@link GuestMemoryError} when memory is short or misaligned.
   */
  static create(mem: GuestMemory, alloc: GuestAllocator, options: SplitQueueDriverOptions): SplitQueueDriver {
    if (endianness() !== 'LE') throw new Error('SplitQueueDriver needs a little-endian host: its typed-array ring views are host-endian');
    const n = options.size;
    if (!isValidSplitQueueSize(n)) throw new RangeError(`split queue size ${n} is not a power of two in 1…32768`);
    const layout: SplitQueueLayout = Object.freeze({
      size: n,
      descAddr: alloc.allocZeroed(splitDescTableSize(n), SPLIT_DESC.ALIGN),
      availAddr: alloc.allocZeroed(splitAvailSize(n), SPLIT_AVAIL.ALIGN),
      usedAddr: alloc.allocZeroed(splitUsedSize(n), SPLIT_USED.ALIGN),
    });
    return new SplitQueueDriver(mem, alloc, layout, options);
  }

  // ---- state ---------------------------------------------------------------------------------

  /** Queue size. */
  get size(): number {
    return this.#size;
  }

  /** Free descriptors in the table. */
  get freeCount(): number {
    return this.#freeTop;
  }

  /** Heads added (staged or published) and not yet returned. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Heads added since the last {@link publish}. */
  get pendingCount(): number {
    return (this.#availIdx - this.#publishedIdx) & 0xffff;
  }

  /** The last value stored in `avail->idx`. */
  get availIdx(): number {
    return this.#publishedIdx;
  }

  /** The used index up to which the driver has consumed used elements. */
  get lastUsedIdx(): number {
    return this.#lastUsedIdx;
  }

  /** True when `head` was added and not yet returned. */
  isInFlight(head: number): boolean {
    return head >= 0 && head < this.#size && this.#state[head] !== FREE;
  }

  // ---- adding buffers ----------------------------------------------------------------------

  /**
   * Fast path: adds a one-descriptor chain and returns its head, or -1 when no descriptor is
   * free. Allocates nothing. `addr` must be a safe integer, `len` a u32. Not visible to the
   * device until {@link publish}.
   */
  addSingle(addr: number, len: number, writable: boolean): number {
    if (this.#freeTop === 0) return -1;
    const head = this.#freeStack[--this.#freeTop];
    const d = this.#desc32;
    const w = head << 2;
    d[w] = addr >>> 0; // ToUint32 is addr mod 2^32 for any safe integer
    d[w + 1] = (addr / TWO_32) >>> 0;
    d[w + 2] = len;
    d[w + 3] = writable ? DescFlag.WRITE : 0; // next = 0
    this.#chainDescs[head] = 1;
    this.#stage(head);
    this.tracker.onAddSingle(head, addr, len, writable);
    return head;
  }

  /**
   * General path: adds a chain of `segments` (direct, or in an indirect table) and returns its
   * head, or `undefined` when there are not enough free descriptors. Segments are written in
   * the given order, readable or writable, exactly as asked (conformance cases build
   * driver-rule violations on purpose). Indirect tables come from the allocator and are kept per
   * head for reuse.
   */
  addChain(segments: readonly BufferSegment[], options: AddChainOptions = {}): number | undefined {
    const k = segments.length;
    if (k === 0) throw new RangeError('a chain needs at least one segment');
    if (options.indirect === true) {
      if (!this.indirect) throw new Error('indirect descriptors were not enabled for this queue (INDIRECT_DESC)');
      if (k > 0x10000) throw new RangeError(`an indirect table holds at most 65536 descriptors, not ${k}`);
      if (this.#freeTop === 0) return undefined;
      const head = this.#freeStack[--this.#freeTop];
      if (this.#indirectCap[head] < k) {
        let cap = MIN_INDIRECT;
        while (cap < k) cap *= 2;
        // The previous (smaller) table of this head is abandoned: the allocator never frees.
        this.#indirectAddr[head] = this.#alloc.alloc(cap * SPLIT_DESC.SIZE, SPLIT_DESC.ALIGN);
        this.#indirectCap[head] = cap;
      }
      const table = this.#indirectAddr[head];
      const bytes = this.#mem.slice(table, k * SPLIT_DESC.SIZE);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < k; i++) {
        const s = segments[i];
        const o = i * SPLIT_DESC.SIZE;
        view.setBigUint64(o + SPLIT_DESC.ADDR, BigInt.asUintN(64, BigInt(s.addr)), true);
        view.setUint32(o + SPLIT_DESC.LEN, s.len, true);
        view.setUint16(o + SPLIT_DESC.FLAGS, (i + 1 < k ? DescFlag.NEXT : 0) | (s.writable ? DescFlag.WRITE : 0), true);
        view.setUint16(o + SPLIT_DESC.NEXT, i + 1 < k ? i + 1 : 0, true);
      }
      this.#writeDesc(head, table, k * SPLIT_DESC.SIZE, DescFlag.INDIRECT, 0);
      this.#chainDescs[head] = 1;
      this.#stage(head);
      this.tracker.onAddChain(head, segments);
      return head;
    }
    if (this.#freeTop < k) return undefined;
    const head = this.#freeStack[this.#freeTop - 1];
    let cur = head;
    for (let i = 0; i < k; i++) {
      this.#freeTop--;
      const next = i + 1 < k ? this.#freeStack[this.#freeTop - 1] : 0;
      const s = segments[i];
      this.#writeDesc(cur, s.addr, s.len, (i + 1 < k ? DescFlag.NEXT : 0) | (s.writable ? DescFlag.WRITE : 0), next);
      this.#nextOf[cur] = next;
      cur = next;
    }
    this.#chainDescs[head] = k;
    this.#stage(head);
    this.tracker.onAddChain(head, segments);
    return head;
  }

  /**
   * Makes every chain added since the last call visible to the device with one `avail->idx`
   * store.
   *
   * Ordering: the descriptors and the ring slots were written with plain stores before this
   * one. x86-64 (TSO) never makes a store visible to another core before an earlier store, so a
   * device that reads `avail->idx` and then the slots and descriptors it covers sees them
   * complete (virtio §2.7.13: "the driver MUST perform a suitable memory barrier before the idx
   * update", which on x86 is only a compiler barrier). `Atomics.store` is that compiler
   * barrier: V8 does not move other memory accesses across it. This relies on x86-64; the
   * package does not run elsewhere.
   */
  publish(): void {
    const to = this.#availIdx;
    let i = this.#publishedIdx;
    if (i === to) return;
    for (; i !== to; i = (i + 1) & 0xffff) {
      const head = this.#ringShadow[i & this.#mask];
      this.#state[head] = AVAIL;
      this.tracker.onPublish(head);
    }
    Atomics.store(this.#avail16, 1, to);
    this.#publishedIdx = to;
  }

  /**
   * Whether the device wants a kick for what was published since the last call (virtio §2.7.7):
   * with EVENT_IDX when `avail_event` lies in the published range (`vring_need_event`),
   * otherwise unless the device set `used->flags` NO_NOTIFY. False when nothing new was
   * published.
   *
   * Ordering: the `avail->idx` store must be visible before we load `avail_event` /
   * `used->flags`, or we and the device can both decide the other will act (a lost wake-up).
   * x86 may reorder a store with a later load, hence the full fence.
   */
  needsKick(): boolean {
    const newIdx = this.#publishedIdx;
    const oldIdx = this.#kickedIdx;
    if (newIdx === oldIdx) return false;
    this.#kickedIdx = newIdx;
    fullFence();
    if (this.eventIdx) return vringNeedEvent(Atomics.load(this.#used16, this.#availEventIndex), newIdx, oldIdx);
    return (Atomics.load(this.#used16, 0) & USED_F_NO_NOTIFY) === 0;
  }

  /**
   * Asks the device not to interrupt (`on`), or to interrupt again. Without EVENT_IDX this sets
   * `avail->flags` NO_INTERRUPT; with EVENT_IDX (where the flags must stay 0) it moves
   * `used_event`: to just behind the consumed index when suppressing (the device then signals
   * only when its index wraps all the way round), to the consumed index when re-enabling.
   * Returns true when used elements are already waiting (checked after a full fence), so a
   * caller about to sleep on the call fd polls first instead (virtio §2.7.10 race).
   */
  suppressInterrupts(on: boolean): boolean {
    this.#suppressed = on;
    if (this.eventIdx) {
      this.#avail16[0] = 0;
      this.#avail16[this.#usedEventIndex] = on ? (this.#lastUsedIdx - 1) & 0xffff : this.#lastUsedIdx;
    } else {
      this.#avail16[0] = on ? AVAIL_F_NO_INTERRUPT : 0;
    }
    fullFence();
    return Atomics.load(this.#used16, 1) !== this.#lastUsedIdx;
  }

  /** Whether interrupts are currently suppressed by this driver. */
  get interruptsSuppressed(): boolean {
    return this.#suppressed;
  }

  // ---- used ring -----------------------------------------------------------------------------

  /**
   * Fast path: moves the next valid used element into `out` and frees its chain; false when
   * none is waiting. Elements naming a head that is not in flight are recorded by the tracker
   * and skipped. Allocates nothing.
   *
   * Ordering: `used->idx` is loaded before the elements it covers. x86 does not reorder loads
   * with loads, and `Atomics.load` keeps V8 from hoisting the element loads above it.
   */
  popUsedInto(out: UsedElement): boolean {
    const mask = this.#mask;
    const used32 = this.#used32;
    for (;;) {
      const last = this.#lastUsedIdx;
      if (last === this.#seenUsedIdx) {
        this.#seenUsedIdx = Atomics.load(this.#used16, 1);
        if (last === this.#seenUsedIdx) return false;
      }
      const e = 1 + ((last & mask) << 1);
      const id = used32[e];
      const len = used32[e + 1];
      this.#lastUsedIdx = (last + 1) & 0xffff;
      if (this.#complete(id, len)) {
        out.id = id;
        out.len = len;
        return true;
      }
    }
  }

  /** General path: the next valid used element, or `undefined` (see {@link popUsedInto}). */
  popUsed(): UsedElement | undefined {
    const out: UsedElement = { id: 0, len: 0 };
    return this.popUsedInto(out) ? out : undefined;
  }

  /**
   * Batch form: calls `cb(id, len)` for every valid used element waiting and returns how many.
   * Allocates nothing (if `cb` does not).
   */
  drainUsed(cb: (id: number, len: number) => void): number {
    const mask = this.#mask;
    const used32 = this.#used32;
    let n = 0;
    let last = this.#lastUsedIdx;
    const end = Atomics.load(this.#used16, 1);
    this.#seenUsedIdx = end;
    while (last !== end) {
      const e = 1 + ((last & mask) << 1);
      const id = used32[e];
      const len = used32[e + 1];
      last = (last + 1) & 0xffff;
      this.#lastUsedIdx = last;
      if (this.#complete(id, len)) {
        n++;
        cb(id, len);
      }
    }
    return n;
  }

  // ---- reset and reconnect -------------------------------------------------------------------

  /**
   * Zeroes the rings and forgets every chain: all descriptors free, indices 0. Only while the
   * device is stopped (it must not be reading the rings).
   */
  reset(): void {
    this.restoreFrom(0, 0);
  }

  /**
   * Restarts the driver at given indices, as after a reconnect: zeroes the rings, forgets every
   * chain in flight (all descriptors free), then stores `avail->idx = availIdx` and
   * `used->idx = usedIdx` (the device's used index; the caller stopped the device, e.g. with
   * GET_VRING_BASE) and continues from there. Suppression settings are kept.
   */
  restoreFrom(availIdx: number, usedIdx: number): void {
    for (const [name, v] of [['availIdx', availIdx], ['usedIdx', usedIdx]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${name} ${v} is not a u16`);
    }
    this.#desc32.fill(0);
    this.#avail16.fill(0);
    this.#used16.fill(0);
    this.#resetState();
    this.tracker.onReset();
    this.#availIdx = availIdx;
    this.#publishedIdx = availIdx;
    this.#kickedIdx = availIdx;
    this.#lastUsedIdx = usedIdx;
    this.#seenUsedIdx = usedIdx;
    this.#avail16[1] = availIdx;
    this.#used16[1] = usedIdx;
    this.suppressInterrupts(this.#suppressed);
  }

  // ---- internals -----------------------------------------------------------------------------

  #resetState(): void {
    const n = this.#size;
    // Stack order makes the first heads 0, 1, 2 …: predictable for tests reading raw bytes.
    for (let i = 0; i < n; i++) this.#freeStack[i] = n - 1 - i;
    this.#freeTop = n;
    this.#nextOf.fill(0);
    this.#chainDescs.fill(0);
    this.#state.fill(FREE);
    this.#inFlight = 0;
    this.#availIdx = 0;
    this.#publishedIdx = 0;
    this.#kickedIdx = 0;
    this.#lastUsedIdx = 0;
    this.#seenUsedIdx = 0;
  }

  #stage(head: number): void {
    this.#state[head] = STAGED;
    const slot = this.#availIdx & this.#mask;
    this.#avail16[2 + slot] = head;
    this.#ringShadow[slot] = head;
    this.#availIdx = (this.#availIdx + 1) & 0xffff;
    this.#inFlight++;
  }

  #writeDesc(i: number, addr: number | bigint, len: number, flags: number, next: number): void {
    const d = this.#desc32;
    const w = i << 2;
    if (typeof addr === 'bigint') {
      const a = BigInt.asUintN(64, addr);
      d[w] = Number(a & 0xffff_ffffn);
      d[w + 1] = Number(a >> 32n);
    } else {
      d[w] = addr >>> 0;
      d[w + 1] = (addr / TWO_32) >>> 0;
    }
    d[w + 2] = len;
    d[w + 3] = flags | (next << 16);
  }

  /** Checks a used element with the tracker and, when it is a valid return, frees its chain. */
  #complete(id: number, len: number): boolean {
    // The tracker records what is wrong; the driver's own state decides (they agree unless the
    // tracker was reset separately).
    const ok = this.tracker.onUsed(id, len);
    if (!ok || id >= this.#size || this.#state[id] !== AVAIL) return false;
    let d = id;
    const n = this.#chainDescs[id];
    for (let k = 0; k < n; k++) {
      this.#freeStack[this.#freeTop++] = d;
      d = this.#nextOf[d];
    }
    this.#chainDescs[id] = 0;
    this.#state[id] = FREE;
    this.#inFlight--;
    return true;
  }
}

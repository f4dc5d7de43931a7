/**
 * The device side of a split virtqueue (virtio 1.2 §2.7; CHECKLIST §5.15–§5.17), as the reference
 * back-end processes it in guest memory mapped from the front-end.
 *
 * Ownership (VU-DP-019): a head belongs to the device from the `avail->idx` store that publishes it
 * until our `used->idx` store returns it. We read `avail->idx` once per batch, before the ring
 * entries it covers (VU-DP-001); x86-64 does not reorder loads with loads, so the entries we read
 * afterwards are at least as new as the index.
 *
 * Typical loop: `while ((c = q.pop(chain)) !== undefined) { …; q.pushUsed(c.head, n) }`,
 * `q.flushUsed()`, then `if (q.needsNotify()) call()`.
 * @module
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import {
  AVAIL_F_NO_INTERRUPT,
  DescFlag,
  SPLIT_AVAIL,
  SPLIT_DESC,
  SPLIT_USED,
  USED_F_NO_NOTIFY,
  splitAvailEventOffset,
  splitUsedEventOffset,
  vringNeedEvent,
} from '../wire/ring-layout.js';
import { Chain, ChainError, ChainWalker, type Segment } from './chain-walker.js';
import { QueueStateError, mapRingAreas, storeLoadFence, type VringConfig } from './queue-config.js';

/** Device side of one split virtqueue. Build it with {@link SplitQueueDevice.fromConfig}. */
export class SplitQueueDevice {
  /** Queue size (a power of two). */
  readonly size: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated. */
  readonly eventIdx: boolean;
  /** VIRTIO_F_IN_ORDER negotiated: {@link pushUsedInOrder} may batch completions. */
  readonly inOrder: boolean;
  private readonly mask: number;
  // Byte order of every ring field: little-endian unless a legacy ring was set big-endian.
  private readonly le: boolean;
  // Offsets of the low and high words of a descriptor's u64 address in that order.
  private readonly addrLo: number;
  private readonly addrHi: number;
  private readonly walker: ChainWalker;
  private readonly desc: DataView;
  private readonly avail: DataView;
  private readonly used: DataView;
  private readonly usedEventOff: number;
  private readonly availEventOff: number;
  private nextAvail: number;
  // avail->idx as last read: pops up to it without touching the shared index again.
  private shadowAvail: number;
  private used16: number;
  private pending = 0;
  private signalledUsed = 0;
  // False until the first notify decision after (re)start, so that first one is never suppressed
  // (VU-EVT-004).
  private signalledValid = false;
  private notifyOn = true;

  private constructor(mem: GuestMemory, cfg: VringConfig, desc: DataView, avail: DataView, used: DataView) {
    this.size = cfg.size;
    this.mask = cfg.size - 1;
    this.le = cfg.bigEndian !== true;
    this.addrLo = SPLIT_DESC.ADDR + (this.le ? 0 : 4);
    this.addrHi = SPLIT_DESC.ADDR + (this.le ? 4 : 0);
    this.eventIdx = cfg.eventIdx;
    this.inOrder = cfg.inOrder;
    this.desc = desc;
    this.avail = avail;
    this.used = used;
    this.usedEventOff = splitUsedEventOffset(cfg.size);
    this.availEventOff = splitAvailEventOffset(cfg.size);
    this.walker = new ChainWalker(mem, { queueSize: cfg.size, indirect: cfg.indirect, bigEndian: !this.le });
    this.nextAvail = cfg.lastAvailIdx ?? 0;
    this.shadowAvail = this.nextAvail;
    // As vhost back-ends do on start: without a restored value, trust the ring's used index.
    this.used16 = cfg.usedIdx ?? used.getUint16(SPLIT_USED.IDX, this.le);
  }

  /**
   * Checks `cfg` (split format, power-of-two size, aligned areas wholly in `mem`, restored state in
   * range) and returns the device. Throws {@link QueueConfigError} with the reason.
   */
  static fromConfig(mem: GuestMemory, cfg: VringConfig): SplitQueueDevice {
    const a = mapRingAreas(mem, cfg, 'split');
    return new SplitQueueDevice(mem, cfg, a.desc, a.avail, a.used);
  }

  /** Next avail index the device will consume, free-running u16 (the GET_VRING_BASE value). */
  get lastAvailIdx(): number {
    return this.nextAvail;
  }

  /** `used->idx` as last stored by {@link flushUsed} (pending elements not counted). */
  get usedIdx(): number {
    return this.used16;
  }

  /**
   * Heads published and not yet popped, from a fresh read of `avail->idx`. May exceed the queue
   * size when the driver misbehaves; {@link pop} then reports VU-DP-003.
   */
  availableCount(): number {
    // Not cached in shadowAvail: pop() checks each new index it adopts for VU-DP-003.
    return (this.avail.getUint16(SPLIT_AVAIL.IDX, this.le) - this.nextAvail) & 0xffff;
  }

  /**
   * Pops the next published chain into `out` (reused; allocation-free once it has enough
   * segments) or a new {@link Chain}. Returns `undefined` when nothing is published, or a
   * {@link ChainError}: for a bad chain the head is consumed (`error.head` says which, so the
   * caller may return it with length 0 or stop the queue); for an avail index more than `size`
   * ahead (VU-DP-003) nothing is consumed and `error.head` is -1.
   */
  pop(out?: Chain): Chain | ChainError | undefined {
    if (this.nextAvail === this.shadowAvail) {
      this.shadowAvail = this.avail.getUint16(SPLIT_AVAIL.IDX, this.le);
      if (this.nextAvail === this.shadowAvail) return undefined;
      const n = (this.shadowAvail - this.nextAvail) & 0xffff;
      if (n > this.size) {
        const idx = this.shadowAvail;
        this.shadowAvail = this.nextAvail;
        return new ChainError('VU-DP-003', `avail->idx ${idx} is ${n} ahead of last avail ${this.nextAvail}, more than queue size ${this.size}`, -1);
      }
    }
    const head = this.avail.getUint16(SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * (this.nextAvail & this.mask), this.le);
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    if (this.eventIdx && this.notifyOn) this.used.setUint16(this.availEventOff, this.nextAvail, this.le);
    return this.walker.walkSplit(this.desc, head, out ?? new Chain());
  }

  /**
   * The fast path for the common chain, one descriptor: when the next available head names a
   * descriptor without NEXT or INDIRECT, whose WRITE flag equals `write`, at least `minLen` bytes
   * long and inside the region the walker hit last, fills `out` with its buffer and returns the
   * head, *without consuming it* ({@link skipFlat} does). Returns -1 when nothing is available
   * and -2 when the chain is for {@link pop}, which applies every rule (an avail index that jumped
   * too far, a bad head, a longer chain); this accepts only chains pop would accept as they are.
   */
  peekFlat(out: Segment, write: boolean, minLen: number): number {
    if (this.nextAvail === this.shadowAvail) {
      const idx = this.avail.getUint16(SPLIT_AVAIL.IDX, this.le);
      if (idx === this.nextAvail) return -1;
      // Left for pop to report (VU-DP-003); the shadow stays so pop reads the index itself.
      if (((idx - this.nextAvail) & 0xffff) > this.size) return -2;
      this.shadowAvail = idx;
    }
    const head = this.avail.getUint16(SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * (this.nextAvail & this.mask), this.le);
    if (head >= this.size) return -2;
    const d = this.desc;
    const off = head * SPLIT_DESC.SIZE;
    const flags = d.getUint16(off + SPLIT_DESC.FLAGS, this.le);
    if ((flags & (DescFlag.NEXT | DescFlag.INDIRECT | DescFlag.WRITE)) !== (write ? DescFlag.WRITE : 0)) return -2;
    const len = d.getUint32(off + SPLIT_DESC.LEN, this.le);
    if (len < minLen) return -2;
    if (!this.walker.flat(out, d.getUint32(off + this.addrLo, this.le), d.getUint32(off + this.addrHi, this.le), len)) return -2;
    return head;
  }

  /** Consumes the head {@link peekFlat} returned (as {@link pop} would have). */
  skipFlat(): void {
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    if (this.eventIdx && this.notifyOn) this.used.setUint16(this.availEventOff, this.nextAvail, this.le);
  }

  /**
   * Writes the used element `{id: head, len}` (len = bytes written into the writable part,
   * VU-DP-008) at the next used slot. Not visible to the driver until {@link flushUsed}.
   */
  pushUsed(head: number, len: number): void {
    if (this.pending >= this.size) throw new QueueStateError(`more than ${this.size} used elements pending`);
    const off = SPLIT_USED.RING + SPLIT_USED.ENTRY * ((this.used16 + this.pending) & this.mask);
    this.used.setUint32(off + SPLIT_USED.ENTRY_ID, head, this.le);
    this.used.setUint32(off + SPLIT_USED.ENTRY_LEN, len, this.le);
    this.pending++;
  }

  /**
   * IN_ORDER batch (virtio §2.7.9, VU-ORD-002): one element carrying the id of the batch's last
   * chain, at the slot of its first, and the used index advances by `count`.
   */
  pushUsedInOrder(lastHead: number, len: number, count: number): void {
    if (!this.inOrder) throw new QueueStateError('pushUsedInOrder without VIRTIO_F_IN_ORDER');
    if (!(count >= 1 && this.pending + count <= this.size)) throw new QueueStateError(`bad in-order batch of ${count}`);
    this.pushUsed(lastHead, len);
    this.pending += count - 1;
  }

  /**
   * Publishes the pending used elements by storing `used->idx` once (VU-DP-009).
   * ORDERING: the element stores above come first in program order; V8 keeps DataView stores in
   * program order and x86-64 (TSO) never makes a store visible before an earlier one, so the
   * driver that sees the new index sees the elements. No fence is needed here; {@link needsNotify}
   * brings the store→load fence.
   */
  flushUsed(): void {
    if (this.pending === 0) return;
    this.used16 = (this.used16 + this.pending) & 0xffff;
    this.pending = 0;
    this.used.setUint16(SPLIT_USED.IDX, this.used16, this.le);
  }

  /**
   * Whether the driver wants an interrupt for what was flushed since the last call (virtio §2.7.7,
   * VU-EVT-001/002): without EVENT_IDX when `avail->flags` lacks NO_INTERRUPT; with EVENT_IDX when
   * `used->idx` passed `used_event` since the last decision (`vring_need_event`). The first call
   * after (re)start answers true if anything was used.
   */
  needsNotify(): boolean {
    // The driver writes used_event/flags then reads used->idx; we stored used->idx and now read
    // its fields: without a full fence both sides could miss each other.
    storeLoadFence();
    const old = this.signalledUsed;
    const valid = this.signalledValid;
    this.signalledUsed = this.used16;
    this.signalledValid = true;
    if (valid && old === this.used16) return false;
    if (!this.eventIdx) return (this.avail.getUint16(SPLIT_AVAIL.FLAGS, this.le) & AVAIL_F_NO_INTERRUPT) === 0;
    if (!valid) return true;
    return vringNeedEvent(this.avail.getUint16(this.usedEventOff, this.le), this.used16, old);
  }

  /**
   * Asks the driver for kicks (`enabled`) or not (virtio §2.7.10): `used->flags` NO_NOTIFY without
   * EVENT_IDX; with EVENT_IDX `avail_event` = next index we will consume (disabling then just stops
   * advancing it). Returns, after enabling, whether chains are already waiting: a buffer published
   * while kicks were off sent no kick, so the caller must process it (VU-EVT-005).
   */
  setNotification(enabled: boolean): boolean {
    this.notifyOn = enabled;
    if (!this.eventIdx) this.used.setUint16(SPLIT_USED.FLAGS, enabled ? 0 : USED_F_NO_NOTIFY, this.le);
    else if (enabled) this.used.setUint16(this.availEventOff, this.nextAvail, this.le);
    if (!enabled) return false;
    storeLoadFence();
    return this.availableCount() !== 0;
  }
}

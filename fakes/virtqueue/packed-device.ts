/**
 * The device side of a packed virtqueue (virtio 1.2 §2.8; CHECKLIST §5.18 VU-PK, §3.3 vring base).
 *
 * One ring of descriptors is shared both ways. The driver makes a descriptor available by setting
 * AVAIL to its wrap counter and USED to the inverse; the device marks a chain used by writing one
 * descriptor at the next used slot with AVAIL = USED = its own wrap counter. Both counters start
 * at 1 and flip whenever their index passes the end of the ring, so a zero-filled ring exposes
 * nothing (VU-PK-001) and sizes need not be powers of two (VU-PK-004).
 *
 * Ordering (SAFETY, x86-64): we load a descriptor's flags before its other fields and x86-64 keeps
 * loads in order, so the fields are at least as new as the AVAIL flip. When marking used we store
 * id and len before flags, and x86-64 keeps stores in order. A batch of used descriptors is
 * published by storing the *first* one's flags last (VU-PK-010), so the driver sees all or none.
 * @module
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import { PACKED_DESC, PACKED_EVENT, PACKED_WRAP_BIT, PackedDescFlag, PackedEventFlag } from '../wire/ring-layout.js';
import { Chain, ChainError, ChainWalker, type Segment } from './chain-walker.js';
import { QueueStateError, mapRingAreas, storeLoadFence, type VringConfig } from './queue-config.js';

// The vring base encoding is wire format (CHECKLIST §3.3): it lives in fakes/wire.
import { encodePackedVringBase, type PackedVringState } from '../wire/packed-vring-base.js';
// Re-exported: the virtqueue modules and their users reach the vring base from here too.
export { decodePackedVringBase, encodePackedVringBase, type PackedVringState } from '../wire/packed-vring-base.js';

/** Device side of one packed virtqueue. Build it with {@link PackedQueueDevice.fromConfig}. */
export class PackedQueueDevice {
  /** Queue size, 1..32768. */
  readonly size: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated (descriptor-specific event suppression allowed). */
  readonly eventIdx: boolean;
  /** VIRTIO_F_IN_ORDER negotiated: one {@link pushUsed} may cover a batch (virtio §2.8.8). */
  readonly inOrder: boolean;
  private readonly walker: ChainWalker;
  private readonly ring: DataView;
  private readonly driverEvent: DataView;
  private readonly deviceEvent: DataView;
  private nextAvail: number;
  private availWrap: boolean;
  private nextUsed: number;
  private usedWrap: boolean;
  private pending = 0;
  private firstSlot = 0;
  private firstFlags = 0;
  // Used position at the last notify decision, as a "virtual index" in [0, 2·size) (see vpos).
  private signalled = 0;
  private signalledValid = false;
  private notifyOn = true;

  private constructor(mem: GuestMemory, cfg: VringConfig, ring: DataView, driverEvent: DataView, deviceEvent: DataView) {
    this.size = cfg.size;
    this.eventIdx = cfg.eventIdx;
    this.inOrder = cfg.inOrder;
    this.ring = ring;
    this.driverEvent = driverEvent;
    this.deviceEvent = deviceEvent;
    this.walker = new ChainWalker(mem, { queueSize: cfg.size, indirect: cfg.indirect, uncheckedChainTail: cfg.uncheckedChainTail === true });
    this.nextAvail = cfg.lastAvailIdx ?? 0;
    this.availWrap = cfg.availWrapCounter ?? true;
    this.nextUsed = cfg.usedIdx ?? 0;
    this.usedWrap = cfg.usedWrapCounter ?? true;
  }

  /**
   * Checks `cfg` (packed format, size 1..32768, 16-aligned ring and 4-aligned event areas wholly in
   * `mem`, restored state in range) and returns the device. Throws {@link QueueConfigError}.
   */
  static fromConfig(mem: GuestMemory, cfg: VringConfig): PackedQueueDevice {
    const a = mapRingAreas(mem, cfg, 'packed');
    return new PackedQueueDevice(mem, cfg, a.desc, a.avail, a.used);
  }

  /** Position state for GET_VRING_BASE (flush used descriptors first). */
  get state(): PackedVringState {
    return { lastAvailIdx: this.nextAvail, availWrapCounter: this.availWrap, usedIdx: this.nextUsed, usedWrapCounter: this.usedWrap };
  }

  /** The encoded vring base (CHECKLIST §3.3). */
  get vringBase(): number {
    return encodePackedVringBase(this.state);
  }

  /** Whether the descriptor at the next avail slot is available (a fresh read of its flags). */
  hasAvailable(): boolean {
    return this.isAvail(this.ring.getUint16(this.nextAvail * PACKED_DESC.SIZE + PACKED_DESC.FLAGS, true));
  }

  private isAvail(flags: number): boolean {
    // VU-PK-002: AVAIL must equal our expected wrap and USED must differ; AVAIL = USED (a used or
    // zeroed pattern) is never available.
    return ((flags & PackedDescFlag.AVAIL) !== 0) === this.availWrap && ((flags & PackedDescFlag.USED) !== 0) !== this.availWrap;
  }

  /**
   * Pops the next available chain into `out` (reused) or a new {@link Chain}: `head` is the buffer
   * id (from the chain's last descriptor) and `ringSlots` the slots to pass to {@link pushUsed}.
   * Returns `undefined` when the next slot is not available. On a {@link ChainError} nothing is
   * consumed: the ring cannot be parsed past a bad chain, so the caller stops the queue.
   */
  pop(out?: Chain): Chain | ChainError | undefined {
    const flags = this.ring.getUint16(this.nextAvail * PACKED_DESC.SIZE + PACKED_DESC.FLAGS, true);
    if (!this.isAvail(flags)) return undefined;
    const r = this.walker.walkPacked(this.ring, this.nextAvail, this.availWrap, out ?? new Chain());
    if (r instanceof ChainError) return r;
    this.nextAvail += r.ringSlots;
    if (this.nextAvail >= this.size) {
      this.nextAvail -= this.size;
      this.availWrap = !this.availWrap;
    }
    if (this.eventIdx && this.notifyOn) this.writeDeviceEventOffset();
    return r;
  }

  /**
   * The fast path for the common chain, one descriptor: when the next available slot holds a
   * descriptor without NEXT or INDIRECT, whose WRITE flag equals `write`, at least `minLen` bytes
   * long and inside the region the walker hit last, fills `out` with its buffer and returns its
   * id, *without consuming it* ({@link skipFlat} does). Returns -1 when nothing is available and
   * -2 when the chain is for {@link pop} (which applies every rule; this accepts only chains that
   * pop would accept as they are). Each field is read once (VU-DP-015): `out` is what counts.
   */
  peekFlat(out: Segment, write: boolean, minLen: number): number {
    const ring = this.ring;
    const off = this.nextAvail * PACKED_DESC.SIZE;
    const flags = ring.getUint16(off + PACKED_DESC.FLAGS, true);
    if (!this.isAvail(flags)) return -1;
    if ((flags & (PackedDescFlag.NEXT | PackedDescFlag.INDIRECT | PackedDescFlag.WRITE)) !== (write ? PackedDescFlag.WRITE : 0)) return -2;
    const len = ring.getUint32(off + PACKED_DESC.LEN, true);
    if (len < minLen) return -2;
    if (!this.walker.flat(out, ring.getUint32(off + PACKED_DESC.ADDR, true), ring.getUint32(off + PACKED_DESC.ADDR + 4, true), len)) return -2;
    return ring.getUint16(off + PACKED_DESC.ID, true);
  }

  /** Consumes the one-slot chain {@link peekFlat} returned (as {@link pop} would have). */
  skipFlat(): void {
    if (++this.nextAvail === this.size) {
      this.nextAvail = 0;
      this.availWrap = !this.availWrap;
    }
    if (this.eventIdx && this.notifyOn) this.writeDeviceEventOffset();
  }

  /**
   * Marks a buffer used (virtio §2.8.3–§2.8.6, VU-PK-003/005): one descriptor at the next used
   * slot with `id`, `len` (bytes written), WRITE iff `len > 0`, AVAIL = USED = the used wrap
   * counter; then the used index skips `ringSlots` (the chain's length; with IN_ORDER, a whole
   * batch's). Not visible to the driver until {@link flushUsed}.
   */
  pushUsed(id: number, len: number, ringSlots: number): void {
    if (!(Number.isInteger(ringSlots) && ringSlots >= 1 && ringSlots <= this.size)) {
      throw new QueueStateError(`ringSlots ${ringSlots} outside 1..${this.size}`);
    }
    const off = this.nextUsed * PACKED_DESC.SIZE;
    const flags = (this.usedWrap ? PackedDescFlag.AVAIL | PackedDescFlag.USED : 0) | (len > 0 ? PackedDescFlag.WRITE : 0);
    this.ring.setUint16(off + PACKED_DESC.ID, id, true);
    this.ring.setUint32(off + PACKED_DESC.LEN, len, true);
    if (this.pending === 0) {
      // Held back: this flags store publishes the whole batch (flushUsed).
      this.firstSlot = this.nextUsed;
      this.firstFlags = flags;
    } else {
      this.ring.setUint16(off + PACKED_DESC.FLAGS, flags, true);
    }
    this.pending++;
    this.nextUsed += ringSlots;
    if (this.nextUsed >= this.size) {
      this.nextUsed -= this.size;
      this.usedWrap = !this.usedWrap;
    }
  }

  /** Publishes the pending used descriptors by storing the first one's flags (ORDERING: last). */
  flushUsed(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.ring.setUint16(this.firstSlot * PACKED_DESC.SIZE + PACKED_DESC.FLAGS, this.firstFlags, true);
  }

  // Position p with wrap counter w as an index in [0, 2·size) that grows by one per slot across
  // laps: laps alternate wrap 1, 0, 1, … so the wrap-0 lap is the second half.
  private vpos(p: number, w: boolean): number {
    return w ? p : p + this.size;
  }

  /**
   * Whether the driver wants an interrupt for what was flushed since the last call (virtio
   * §2.8.10, VU-PK-009): driver event flags ENABLE → yes, DISABLE → no, DESC (with EVENT_IDX) → yes
   * iff the used position passed the driver's event offset/wrap since the last decision.
   */
  needsNotify(): boolean {
    storeLoadFence();
    const now = this.vpos(this.nextUsed, this.usedWrap);
    const old = this.signalled;
    const valid = this.signalledValid;
    this.signalled = now;
    this.signalledValid = true;
    if (valid && old === now) return false;
    // Flags before off_wrap: the driver stores off_wrap first.
    const flags = this.driverEvent.getUint16(PACKED_EVENT.FLAGS, true) & 3;
    if (flags === PackedEventFlag.DISABLE) return false;
    // ENABLE, DESC without EVENT_IDX, or the reserved value 3: notifying is the safe reading.
    if (flags !== PackedEventFlag.DESC || !this.eventIdx || !valid) return true;
    const offWrap = this.driverEvent.getUint16(PACKED_EVENT.OFF_WRAP, true);
    const off = offWrap & 0x7fff;
    if (off >= this.size) return true;
    const ring2 = 2 * this.size;
    const ev = this.vpos(off, (offWrap & PACKED_WRAP_BIT) !== 0);
    // vring_need_event over the 2·size virtual index: ev in [old, now).
    return (ev - old + ring2) % ring2 < (now - old + ring2) % ring2;
  }

  /**
   * Asks the driver for kicks or not, through the device event area (the only one the device
   * writes, VU-PK-009): DISABLE; ENABLE; or with EVENT_IDX, DESC at the next slot we will read.
   * Returns, after enabling, whether a chain is already waiting (VU-EVT-005).
   */
  setNotification(enabled: boolean): boolean {
    this.notifyOn = enabled;
    if (!enabled) {
      this.deviceEvent.setUint16(PACKED_EVENT.FLAGS, PackedEventFlag.DISABLE, true);
      return false;
    }
    if (this.eventIdx) {
      this.writeDeviceEventOffset(); // ORDERING: off_wrap before flags
      this.deviceEvent.setUint16(PACKED_EVENT.FLAGS, PackedEventFlag.DESC, true);
    } else {
      this.deviceEvent.setUint16(PACKED_EVENT.FLAGS, PackedEventFlag.ENABLE, true);
    }
    storeLoadFence();
    return this.hasAvailable();
  }

  private writeDeviceEventOffset(): void {
    this.deviceEvent.setUint16(PACKED_EVENT.OFF_WRAP, this.nextAvail | (this.availWrap ? PACKED_WRAP_BIT : 0), true);
  }
}

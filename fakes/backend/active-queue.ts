/**
 * A started ring of the reference back-end: the split or packed device-side queue from
 * `fakes/virtqueue` plus what the session adds around it — address translation from the
 * front-end's user addresses, the restart rules for the vring base, inflight tracking, dirty
 * logging of used-ring writes, call notifications, data-path hooks and violation reports.
 * Devices see it through {@link DeviceQueue}.
 *
 * Restart rules (vhost-user.rst "Ring states", "Inflight I/O tracking"):
 * - split without inflight tracking: consumption resumes at SET_VRING_BASE, except when that base
 *   disagrees with the ring's `used->idx`: then both indices resume from `used->idx`, as DPDK's
 *   back-end does, because a front-end that reconnects without GET_VRING_BASE (virtio-user in
 *   server mode sends base 0 after our restart) would otherwise make us re-read stale heads;
 * - split with an inflight region: unfinished heads are resubmitted first, in counter order, once
 *   the ring is enabled, and consumption resumes at `used->idx` + their number (libvhost-user's
 *   rule);
 * - packed: the §3.3 base; when its upper half is zero (front-ends that only send bits 0–15,
 *   like DPDK's), the used position equals the avail position (a stopped ring has none pending).
 * @module
 */
import { eventfdSignal } from '../../native/index.js';
import { SPLIT_USED, VRING_F_LOG, PACKED_WRAP_BIT, packedDescRingSize, splitUsedSize, swap16, swap32 } from '../wire/index.js';
import {
  Chain, ChainError, ChainWalker, PackedQueueDevice, SplitQueueDevice, decodePackedVringBase, mapRingAreas,
  type Segment, type VringConfig,
} from '../virtqueue/index.js';
import type { DeviceQueue } from './device.js';
import { inbandCalls, sendInbandCall } from './inband-call.js';
import type { DataPathHooks, RingStartEvent, UsedEvent } from './hooks.js';
import type { SplitInflight } from './inflight.js';
import type { RingState, SessionState } from './session-state.js';

/** Why a ring could not start. */
export class RingStartError extends Error {
  override readonly name = 'RingStartError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_RING_START';
  constructor(message: string, readonly rule: string = 'VU-MEM-008') {
    super(message);
  }
}

const LIMIT = BigInt(Number.MAX_SAFE_INTEGER);

function toGpa(state: SessionState, what: string, qva: bigint): number {
  const mem = state.memory;
  if (mem === undefined) throw new RingStartError(`${what}: no memory table`);
  if (qva > LIMIT) throw new RingStartError(`${what} 0x${qva.toString(16)} is outside every region`);
  try {
    return mem.userToGpa(Number(qva));
  } catch {
    throw new RingStartError(`${what} 0x${qva.toString(16)} is outside every region`);
  }
}

/** A started ring. */
export class ActiveQueue implements DeviceQueue {
  readonly index: number;
  readonly size: number;
  readonly bigEndian: boolean;
  private readonly split: SplitQueueDevice | undefined;
  private readonly packed: PackedQueueDevice | undefined;
  private readonly hooks: DataPathHooks | undefined;
  // Split inflight tracking (undefined when not negotiated/sent).
  private readonly inflight: SplitInflight | undefined;
  private readonly batchHeads: number[] = [];
  private batchCount = 0;
  private resubmit: number[] = [];
  private readonly resubmitWalker: ChainWalker | undefined;
  private readonly resubmitDesc: DataView | undefined;
  // Dirty-log target of used-ring writes (log_guest_addr), when VHOST_VRING_F_LOG is set.
  private readonly usedLogAddr: number;
  private readonly usedLogLen: number;
  private readonly usedEvent: UsedEvent;
  private pendingCount = 0;
  private released = false;
  // Packed + IN_ORDER, no beforeUsed hook: read-only completions are batched (see pushRead).
  private readonly batchReads: boolean;
  private readBatchId = 0;
  private readBatchSlots = 0;
  // No hook that must see each chain or completion, no inflight area that must see each head:
  // peekFlat may bypass Chain.
  private readonly flatPath: boolean;

  private constructor(
    private readonly state: SessionState,
    private readonly ring: RingState,
    cfg: VringConfig,
    hooks: DataPathHooks | undefined,
    inflight: SplitInflight | undefined,
  ) {
    this.index = ring.index;
    this.size = cfg.size;
    this.bigEndian = cfg.bigEndian === true;
    this.hooks = hooks;
    const mem = state.memory!;
    if (cfg.format === 'split') {
      this.split = SplitQueueDevice.fromConfig(mem, cfg);
    } else {
      this.packed = PackedQueueDevice.fromConfig(mem, hooks?.uncheckedChainTail === true ? { ...cfg, uncheckedChainTail: true } : cfg);
    }
    // A fault hook must see (and may rewrite) every completion one by one, so it disables batching.
    this.batchReads = this.packed !== undefined && this.packed.inOrder && hooks?.beforeUsed === undefined;
    this.flatPath = inflight === undefined && hooks?.onChain === undefined && hooks?.beforeUsed === undefined;
    this.inflight = inflight;
    if (inflight !== undefined) {
      this.resubmitWalker = new ChainWalker(mem, { queueSize: cfg.size, indirect: cfg.indirect, bigEndian: cfg.bigEndian === true });
      this.resubmitDesc = mapRingAreas(mem, cfg, 'split').desc;
    }
    const addr = ring.addr!;
    const logUsed = (addr.flags & VRING_F_LOG) !== 0 && addr.logGuestAddr <= LIMIT;
    this.usedLogAddr = logUsed ? Number(addr.logGuestAddr) : -1;
    this.usedLogLen = cfg.format === 'split' ? splitUsedSize(cfg.size) : packedDescRingSize(cfg.size);
    this.usedEvent = { ring: ring.index, chain: new Chain(), id: 0, len: 0, repeat: 0, skip: false };
  }

  /**
   * Builds the live queue of `ring` from the session's memory table and features. Throws
   * {@link RingStartError} or a QueueConfigError (the reason says which address or value).
   */
  static build(state: SessionState, ring: RingState, hooks?: DataPathHooks): ActiveQueue {
    const num = ring.num;
    const addr = ring.addr;
    if (num === undefined) throw new RingStartError('SET_VRING_NUM missing', 'VU-RING-009');
    if (addr === undefined) throw new RingStartError('SET_VRING_ADDR missing', 'VU-RING-001');
    const mem = state.memory;
    if (mem === undefined) throw new RingStartError('no memory table');
    const descAddr = toGpa(state, 'descriptor address', addr.descAddr);
    const usedAddr = toGpa(state, 'used address', addr.usedAddr);
    const availAddr = toGpa(state, 'available address', addr.availAddr);
    const common = {
      size: num, descAddr, availAddr, usedAddr,
      eventIdx: state.hasFeature(29), indirect: state.hasFeature(28), inOrder: state.hasFeature(35),
    };
    if (state.packed) {
      const b = decodePackedVringBase(ring.base ?? PACKED_WRAP_BIT);
      const upperZero = ((ring.base ?? PACKED_WRAP_BIT) >>> 16) === 0;
      const at: RingStartEvent = {
        ring: ring.index, format: 'packed', lastAvailIdx: b.lastAvailIdx, availWrapCounter: b.availWrapCounter,
        usedIdx: upperZero ? b.lastAvailIdx : b.usedIdx, usedWrapCounter: upperZero ? b.availWrapCounter : b.usedWrapCounter,
      };
      hooks?.onRingStart?.(at, state);
      const cfg: VringConfig = {
        format: 'packed', ...common,
        lastAvailIdx: at.lastAvailIdx, availWrapCounter: at.availWrapCounter, usedIdx: at.usedIdx, usedWrapCounter: at.usedWrapCounter,
      };
      return new ActiveQueue(state, ring, cfg, hooks, undefined);
    }
    const bigEndian = state.ringBigEndian(ring);
    // GuestMemory reads little-endian; a legacy big-endian ring's fields need their bytes reversed.
    const u16 = (v: number): number => (bigEndian ? swap16(v) : v);
    const u32 = (v: number): number => (bigEndian ? swap32(v) : v);
    let ringUsed: number;
    try {
      ringUsed = u16(mem.readU16(usedAddr + SPLIT_USED.IDX));
    } catch {
      throw new RingStartError(`used ring 0x${usedAddr.toString(16)} is outside guest memory`);
    }
    const inflight = state.inflight?.splitQueue(ring.index, num);
    let lastAvail = (ring.base ?? 0) & 0xffff;
    let resubmit: number[] = [];
    if (inflight !== undefined) {
      const usedRing = usedAddr;
      resubmit = inflight.recover(ringUsed, (slot) => {
        try {
          return u32(mem.readU32(usedRing + SPLIT_USED.RING + SPLIT_USED.ENTRY * (slot % num)));
        } catch {
          return 0xffffffff;
        }
      });
      lastAvail = (ringUsed + resubmit.length) & 0xffff;
    } else if (lastAvail !== ringUsed) {
      state.event('vring-base-resync', { ring: ring.index, detail: `SET_VRING_BASE ${lastAvail} but used->idx ${ringUsed}: resuming from the used index` });
      lastAvail = ringUsed;
    }
    if (hooks?.onRingStart !== undefined) {
      const at: RingStartEvent = { ring: ring.index, format: 'split', lastAvailIdx: lastAvail, usedIdx: ringUsed, availWrapCounter: true, usedWrapCounter: true };
      hooks.onRingStart(at, state);
      lastAvail = at.lastAvailIdx & 0xffff;
      ringUsed = at.usedIdx & 0xffff;
    }
    const q = new ActiveQueue(state, ring, { format: 'split', ...common, lastAvailIdx: lastAvail, usedIdx: ringUsed, bigEndian }, hooks, inflight);
    q.resubmit = resubmit;
    if (resubmit.length > 0) state.event('inflight-resubmit', { ring: ring.index, detail: `${resubmit.length} heads` });
    return q;
  }

  /** @inheritDoc */
  get enabled(): boolean {
    return this.state.isEnabled(this.ring);
  }

  /** @inheritDoc */
  get logging(): boolean {
    return this.state.logging;
  }

  /** The GET_VRING_BASE value (split: next avail index; packed: §3.3 encoding). */
  get base(): number {
    if (this.split !== undefined) return this.split.lastAvailIdx;
    return this.packed!.vringBase;
  }

  /** @inheritDoc */
  hasAvailable(): boolean {
    if (this.split !== undefined) return this.resubmit.length > 0 ? this.enabled : this.split.availableCount() !== 0;
    return this.packed!.hasAvailable();
  }

  /** @inheritDoc */
  pop(out: Chain): Chain | undefined {
    if (this.released) return undefined;
    const split = this.split;
    if (split !== undefined) {
      for (;;) {
        let r: Chain | ChainError | undefined;
        if (this.resubmit.length > 0) {
          // Resubmitted requests wait for SET_VRING_ENABLE: a ring started but still disabled
          // would discard them (net TX while disabled), losing exactly what the area saved.
          if (!this.enabled) return undefined;
          r = this.resubmitWalker!.walkSplit(this.resubmitDesc!, this.resubmit.shift()!, out);
        } else r = split.pop(out);
        if (r === undefined) return undefined;
        if (r instanceof ChainError) {
          this.state.violation(r.rule, r.reason, this.index);
          this.hooks?.onBadChain?.(this.index, r.rule, r.reason, this.state);
          // A bad head is consumed: return it empty so the driver gets it back (VU-DP-004/005).
          if (r.head >= 0 && r.head < this.size) {
            this.inflight?.fetched(r.head);
            this.writeUsedSplit(r.head, 0);
            continue;
          }
          // No head to give back (the avail index jumped past the ring, VU-DP-003, or names a
          // head outside it): the ring cannot go on, so it stops and the front-end is told.
          this.state.breakRing(this.ring, r.rule, r.reason);
          return undefined;
        }
        this.inflight?.fetched(r.head);
        this.hooks?.onChain?.(this.index, r, this.state);
        return r;
      }
    }
    const r = this.packed!.pop(out);
    if (r === undefined) return undefined;
    if (r instanceof ChainError) {
      // The packed ring cannot be parsed past a bad chain: stop the ring until reconfigured.
      this.state.violation(r.rule, r.reason, this.index);
      this.hooks?.onBadChain?.(this.index, r.rule, r.reason, this.state);
      this.state.breakRing(this.ring, r.rule, r.reason);
      return undefined;
    }
    this.hooks?.onChain?.(this.index, r, this.state);
    return r;
  }

  /** @inheritDoc */
  peekFlat(out: Segment, write: boolean, minLen: number): number {
    if (this.released) return -1;
    if (!this.flatPath) return -2;
    return this.split !== undefined ? this.split.peekFlat(out, write, minLen) : this.packed!.peekFlat(out, write, minLen);
  }

  /** @inheritDoc */
  skipFlat(): void {
    if (this.split !== undefined) this.split.skipFlat();
    else this.packed!.skipFlat();
  }

  /** @inheritDoc */
  pushUsedFlat(id: number, len: number): void {
    if (this.readBatchSlots > 0) this.closeReadBatch();
    this.writeUsed(id, len, 1);
  }

  /** @inheritDoc */
  pushReadFlat(id: number): void {
    if (!this.batchReads) {
      this.pushUsedFlat(id, 0);
      return;
    }
    if (this.readBatchSlots === this.size) this.closeReadBatch();
    this.readBatchId = id;
    this.readBatchSlots++;
  }

  /** @inheritDoc */
  pushUsed(chain: Chain, len: number): void {
    // Used descriptors go in the order buffers came: a batch opened before this one closes first.
    if (this.readBatchSlots > 0) this.closeReadBatch();
    const hooks = this.hooks;
    if (hooks?.beforeUsed !== undefined) {
      const e = this.usedEvent;
      (e as { chain: Chain }).chain = chain;
      e.id = chain.head;
      e.len = len;
      e.repeat = 0;
      e.skip = false;
      hooks.beforeUsed(e, this.state);
      if (e.skip) return;
      for (let i = 0; i <= e.repeat; i++) this.writeUsed(e.id, e.len, chain.ringSlots);
      return;
    }
    this.writeUsed(chain.head, len, chain.ringSlots);
  }

  /**
   * @inheritDoc
   * With IN_ORDER on a packed ring, consecutive read-only chains are completed by one used
   * descriptor that carries the last one's id and skips the used index past the whole batch
   * (virtio §2.8.9 "in-order", VU-ORD-002): DPDK's own back-end does this on its TX path and the
   * driver retires the batch in one walk. A packed TX burst then costs one used-descriptor write,
   * not one per frame. Split rings (whose used element is cheap and which inflight tracking
   * follows head by head) and rings with a fault hook complete each chain on its own.
   */
  pushRead(chain: Chain): void {
    if (!this.batchReads) {
      this.pushUsed(chain, 0);
      return;
    }
    // A used descriptor may skip at most a whole ring.
    if (this.readBatchSlots + chain.ringSlots > this.size) this.closeReadBatch();
    this.readBatchId = chain.head;
    this.readBatchSlots += chain.ringSlots;
  }

  private closeReadBatch(): void {
    const slots = this.readBatchSlots;
    // Reset before writing: writeUsed may flush, and flush closes the batch.
    this.readBatchSlots = 0;
    this.writeUsed(this.readBatchId, 0, slots);
  }

  private writeUsed(id: number, len: number, slots: number): void {
    if (this.split !== undefined) this.writeUsedSplit(id, len);
    else {
      if (this.pendingCount >= this.size) this.flush();
      this.packed!.pushUsed(id, len, slots);
      this.pendingCount++;
    }
  }

  private writeUsedSplit(id: number, len: number): void {
    if (this.pendingCount >= this.size) this.flush();
    this.split!.pushUsed(id, len);
    this.pendingCount++;
    if (this.inflight !== undefined) this.batchHeads[this.batchCount++] = id;
  }

  /** @inheritDoc */
  flush(): void {
    if (this.readBatchSlots > 0) this.closeReadBatch();
    if (this.pendingCount === 0) return;
    this.pendingCount = 0;
    const inflight = this.inflight;
    if (inflight !== undefined && this.batchCount > 0) inflight.beforePublish(this.batchHeads[this.batchCount - 1]);
    if (this.split !== undefined) this.split.flushUsed();
    else this.packed!.flushUsed();
    if (inflight !== undefined) {
      inflight.published(this.batchHeads, this.batchCount, this.split!.usedIdx);
      this.batchCount = 0;
    }
    if (this.usedLogAddr >= 0 && this.state.logging) this.state.log!.markRange(this.usedLogAddr, this.usedLogLen);
    this.hooks?.afterFlush?.(this.index, this.state);
    const needs = this.split !== undefined ? this.split.needsNotify() : this.packed!.needsNotify();
    const call = this.ring.callFd;
    if (needs && call !== undefined) {
      try {
        eventfdSignal(call);
      } catch {
        // A full or closed call fd: the driver polls or is gone; nothing to recover here.
      }
    } else if (needs && inbandCalls(this.state)) sendInbandCall(this.state, this.index);
  }

  /** @inheritDoc */
  logWrite(gpa: number, len: number): void {
    if (this.state.logging) this.state.log!.markRange(gpa, len);
  }

  /** Asks the driver for kicks (`true`) or not; after enabling, returns whether chains wait. */
  setNotification(enabled: boolean): boolean {
    if (this.released) return false;
    const waiting = this.split !== undefined ? this.split.setNotification(enabled) : this.packed!.setNotification(enabled);
    return waiting || (enabled && this.resubmit.length > 0);
  }

  /** The ring stopped: publish what is pending and never touch the ring again. */
  release(): void {
    if (this.released) return;
    this.flush();
    this.released = true;
  }
}

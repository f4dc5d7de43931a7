/**
 * A hand-operated front-end for the data-plane cases: unlike `NetDevice.start`, every step is
 * separate, so a case can withhold SET_VRING_KICK, send the no-fd flag, pick the memory layout
 * (GPA, QVA, mmap offset, several regions), swap the memory table under running rings, or
 * re-attach the same rings to a new connection after the back-end restarted.
 *
 * Layout: one split driver per ring index asked for, each followed by `queueSize` packet
 * buffers of `bufferSize` bytes, all placed by one bump allocator in a fixed order, so the same
 * layout can be rebuilt on a replacement memory at the same GPAs.
 * @module
 */
import { closeFd, eventfdCreate, eventfdWrite } from '../../native/index.js';
import {
  FrontendRequest, ProtocolFeature, VHOST_USER_F_PROTOCOL_FEATURES, VirtioFeature, featureMask, hasFeature,
  memoryTable, type VringAddr,
} from '../../fakes/wire/index.js';
import { GuestAllocator, MemfdGuestMemory, type GuestRegionSpec } from '../../fakes/memory/index.js';
import { SplitQueueDriver } from '../../fakes/virtqueue/index.js';
import { negotiate, sendMemoryTable, type FrontendSession, type Negotiated } from '../../fakes/frontend/index.js';

/** How a {@link RingRig} is built. */
export interface RigOptions {
  /** Split ring size (default 64). */
  queueSize?: number;
  /** Ring indices to build drivers for (default [0, 1]: RX and TX of net pair 0). */
  rings?: readonly number[];
  /** Virtio features wanted besides VERSION_1 (bit 30 is added when offered). */
  features?: bigint;
  /** false: do not ask for VERSION_1 (a legacy driver: 10-byte net header without MRG_RXBUF). */
  version1?: boolean;
  /** false: negotiate without bit 30, as a legacy front-end (rings enabled at once; no protocol features). */
  protocolFeaturesBit?: boolean;
  /** Protocol features wanted (default REPLY_ACK; intersected with the offer). */
  protocolFeatures?: bigint;
  /** Guest memory regions (default one 4 MiB region at GPA 4 GiB, QVA ≠ GPA, mmap offset 4 KiB). */
  regions?: readonly GuestRegionSpec[];
  /** Drivers use EVENT_IDX (the caller negotiates the feature). */
  eventIdx?: boolean;
  /** Drivers may use indirect tables (the caller negotiates the feature). */
  indirect?: boolean;
  /** Copy device-readable buffers and compare them at return (VU-DP-006). */
  checkReadable?: boolean;
  /** Bytes per packet buffer (default 2048). */
  bufferSize?: number;
  /**
   * Ring addresses are IOVAs (VIRTIO_F_ACCESS_PLATFORM, which the caller puts in `features`):
   * the rig uses IOVA = GPA, so descriptors need no rewriting and the IOTLB entries a case sends
   * decide what the back-end may reach.
   */
  iommu?: boolean;
}

/** How one ring is configured by {@link RingRig.configureRing}. */
export interface RingStart {
  /** SET_VRING_BASE value (default 0). */
  base?: number;
  /** SET_VRING_NUM value (default the queue size). */
  num?: number;
  /** 'fd' sends our eventfd, 'nofd' the invalid-fd flag, 'skip' no SET_VRING_KICK (default 'fd'). */
  kick?: 'fd' | 'nofd' | 'skip';
  /** Same for SET_VRING_CALL (default 'fd'). */
  call?: 'fd' | 'nofd' | 'skip';
  /** SET_VRING_ENABLE 1 when bit 30 is negotiated (default true). */
  enable?: boolean;
}

/** One ring of the rig. */
export interface RigQueue {
  readonly index: number;
  /** Replaced by {@link RingRig.replaceMemory}; read it through the queue each time. */
  driver: SplitQueueDriver;
  readonly kickFd: number;
  readonly callFd: number;
  /** GPA of packet buffer 0; buffer b is at `bufBase + b * bufferSize`. */
  bufBase: number;
  /** Buffers not handed to the device. */
  readonly freeBufs: number[];
  /** Buffer behind each in-flight head added with {@link RingRig.addBuffer}. */
  readonly headToBuf: Map<number, number>;
}

/** Virtio features a rig asks for: VERSION_1 (unless `version1: false`) plus `features`. */
const wantedFeatures = (o: RigOptions): bigint => (o.version1 === false ? 0n : featureMask(VirtioFeature.VERSION_1)) | (o.features ?? 0n);

const DEFAULT_GPA = 0x1_0000_0000;
const DEFAULT_SIZE = 4 << 20;

/** A front-end session plus guest memory and split rings, driven step by step. */
export class RingRig {
  readonly queues = new Map<number, RigQueue>();
  readonly queueSize: number;
  readonly bufferSize: number;
  /** Allocator over the current memory; scratch areas (chains, tables) come from here. */
  alloc: GuestAllocator;
  #retired: MemfdGuestMemory[] = [];
  #fds: number[] = [];

  private constructor(
    public session: FrontendSession,
    public memory: MemfdGuestMemory,
    public negotiated: Negotiated,
    readonly options: RigOptions,
  ) {
    this.queueSize = options.queueSize ?? 64;
    this.bufferSize = options.bufferSize ?? 2048;
    this.alloc = new GuestAllocator(memory);
  }

  /**
   * Negotiates on `session` (VERSION_1 plus `features`), creates guest memory and the rings and
   * sends the memory table. Rings are not configured yet: see {@link configureRing}.
   */
  static async open(session: FrontendSession, options: RigOptions = {}): Promise<RingRig> {
    const negotiated = await negotiate(session, {
      features: wantedFeatures(options),
      protocolFeatures: options.protocolFeatures ?? featureMask(ProtocolFeature.REPLY_ACK),
      ...(options.protocolFeaturesBit !== undefined ? { protocolFeaturesBit: options.protocolFeaturesBit } : {}),
    });
    const memory = MemfdGuestMemory.create(options.regions ?? [{ guestPhysAddr: DEFAULT_GPA, size: DEFAULT_SIZE }], { name: 'vhostlab-case' });
    const rig = new RingRig(session, memory, negotiated, options);
    try {
      rig.#build();
      await sendMemoryTable(session, memory);
    } catch (err) {
      rig.close();
      throw err;
    }
    return rig;
  }

  /** Whether PROTOCOL_FEATURES (bit 30) is in force, so rings start disabled. */
  get ringsStartDisabled(): boolean {
    return hasFeature(this.session.features, VHOST_USER_F_PROTOCOL_FEATURES);
  }

  /** The queue of ring `index` (throws when the rig has none). */
  q(index: number): RigQueue {
    const q = this.queues.get(index);
    if (!q) throw new RangeError(`the rig has no ring ${index}`);
    return q;
  }

  /** Sends NUM, BASE, ADDR, then KICK, CALL and ENABLE as `start` says (QEMU's order). */
  async configureRing(index: number, start: RingStart = {}): Promise<void> {
    const q = this.q(index);
    const s = this.session;
    await s.setVringNum(index, start.num ?? this.queueSize);
    await s.setVringBase(index, start.base ?? 0);
    await s.setVringAddr(this.ringAddr(index));
    const kick = start.kick ?? 'fd';
    if (kick !== 'skip') await s.setVringFd(FrontendRequest.SET_VRING_KICK, index, kick === 'fd' ? q.kickFd : undefined);
    const call = start.call ?? 'fd';
    if (call !== 'skip') await s.setVringFd(FrontendRequest.SET_VRING_CALL, index, call === 'fd' ? q.callFd : undefined);
    if ((start.enable ?? true) && this.ringsStartDisabled) await s.setVringEnable(index, true);
  }

  /**
   * The SET_VRING_ADDR body of ring `index`: ring addresses as QVAs, `flags` (VHOST_VRING_F_LOG to
   * log used-ring writes) and `logGuestAddr` (default the used ring's GPA, as QEMU sends it).
   */
  ringAddr(index: number, flags = 0, logGuestAddr?: number): VringAddr {
    const { descAddr, availAddr, usedAddr } = this.q(index).driver.layout;
    // Under ACCESS_PLATFORM the ring addresses are IOVAs (here equal to GPAs), else QVAs.
    const ringAddress = (gpa: number): bigint => BigInt(this.options.iommu === true ? gpa : this.memory.gpaToUser(gpa));
    return {
      index, flags,
      descAddr: ringAddress(descAddr),
      usedAddr: ringAddress(usedAddr),
      availAddr: ringAddress(availAddr),
      logGuestAddr: BigInt(logGuestAddr ?? usedAddr),
    };
  }

  /** Configures every ring of the rig with the same options. */
  async startAll(start: RingStart = {}): Promise<void> {
    for (const index of this.queues.keys()) await this.configureRing(index, start);
  }

  /** GPA of buffer `b` of ring `index`. */
  bufAddr(index: number, b: number): number {
    return this.q(index).bufBase + b * this.bufferSize;
  }

  /** A view of buffer `b` of ring `index`. */
  bufBytes(index: number, b: number): Uint8Array {
    return this.memory.slice(this.bufAddr(index, b), this.bufferSize);
  }

  /**
   * Adds one free buffer of ring `index` as a one-descriptor chain of `len` bytes (default the
   * whole buffer), after `fill` wrote its contents. Returns the head, or -1 when none is free.
   * Not published: call {@link publish}.
   */
  addBuffer(index: number, writable: boolean, len = this.bufferSize, fill?: (bytes: Uint8Array) => void): number {
    const q = this.q(index);
    const b = q.freeBufs.pop();
    if (b === undefined) return -1;
    if (fill) fill(this.bufBytes(index, b));
    const head = q.driver.addSingle(this.bufAddr(index, b), len, writable);
    if (head < 0) {
      q.freeBufs.push(b);
      return -1;
    }
    q.headToBuf.set(head, b);
    return head;
  }

  /** Publishes what was added on ring `index` and writes its kick fd when the device asks. */
  publish(index: number, forceKick = false): void {
    const q = this.q(index);
    q.driver.publish();
    if (q.driver.needsKick() || forceKick) eventfdWrite(q.kickFd);
  }

  /** Pops every used element of ring `index`, returning its buffers to the free list. */
  reclaim(index: number): { id: number; len: number; buf: number | undefined }[] {
    const q = this.q(index);
    const out: { id: number; len: number; buf: number | undefined }[] = [];
    for (let e = q.driver.popUsed(); e; e = q.driver.popUsed()) {
      const buf = q.headToBuf.get(e.id);
      if (buf !== undefined) {
        q.headToBuf.delete(e.id);
        q.freeBufs.push(buf);
      }
      out.push({ id: e.id, len: e.len, buf });
    }
    return out;
  }

  /**
   * Restarts ring `index` on our side at `availIdx`/`usedIdx` (after GET_VRING_BASE stopped it):
   * zeroes the ring, forgets its chains and frees every buffer.
   */
  resetRing(index: number, availIdx: number, usedIdx = availIdx): void {
    const q = this.q(index);
    q.driver.restoreFrom(availIdx, usedIdx);
    q.headToBuf.clear();
    q.freeBufs.length = 0;
    for (let b = this.queueSize - 1; b >= 0; b--) q.freeBufs.push(b);
  }

  /** The device's `used->idx` of ring `index`, read from ring memory. */
  usedIdx(index: number): number {
    return this.memory.readU16(this.q(index).driver.layout.usedAddr + 2);
  }

  /** The used ring of ring `index` as bytes (for "untouched" comparisons). */
  usedRingBytes(index: number): Uint8Array {
    const { usedAddr, size } = this.q(index).driver.layout;
    return this.memory.read(usedAddr, 6 + 8 * size);
  }

  /**
   * Replaces guest memory the way QEMU does on memory hot-plug: new memfds (at `specs`, normally
   * the same GPAs at other offsets), the old contents copied over, the same rings rebuilt at the
   * same GPAs with the current indices, then one SET_MEM_TABLE. Needs every ring quiesced (no
   * chain in flight). The old memory stays mapped (see {@link retired}) so a case can watch it.
   */
  async replaceMemory(specs: readonly GuestRegionSpec[]): Promise<void> {
    for (const q of this.queues.values()) {
      if (q.driver.inFlight !== 0) throw new Error(`ring ${q.index} has ${q.driver.inFlight} chains in flight; quiesce it before replacing memory`);
    }
    const old = this.memory;
    const next = MemfdGuestMemory.create(specs, { name: 'vhostlab-case-new' });
    for (const r of old.regions) {
      // Copy only what lies inside the new layout (QEMU copies nothing: the RAM is the same).
      try { next.write(r.guestPhysAddr, r.bytes); } catch { /* layout differs: the rebuild zeroes rings anyway */ }
    }
    const indices = [...this.queues.values()].map((q) => ({ avail: q.driver.availIdx, used: q.driver.lastUsedIdx }));
    this.memory = next;
    this.alloc = new GuestAllocator(next);
    const oldQueues = [...this.queues.values()];
    this.#build(oldQueues);
    [...this.queues.values()].forEach((q, i) => q.driver.restoreFrom(indices[i].avail, indices[i].used));
    this.#retired.push(old);
    await sendMemoryTable(this.session, next);
  }

  /** Memories replaced by {@link replaceMemory}, still mapped here (oldest first). */
  get retired(): readonly MemfdGuestMemory[] {
    return this.#retired;
  }

  /**
   * Attaches the same memory and rings to a new session (after a reconnect or a back-end
   * restart): negotiates again, resends the memory table and configures every ring with
   * SET_VRING_BASE = the used index found in ring memory (VU-RECON-009), leaving the rings' contents
   * as they are, so chains the old back-end never returned are processed by the new one.
   * `beforeRings` runs after the memory table, before the first ring message.
   */
  async reattach(session: FrontendSession, start: RingStart = {}, beforeRings?: (session: FrontendSession) => Promise<void>): Promise<Map<number, number>> {
    this.session = session;
    this.negotiated = await negotiate(session, {
      features: wantedFeatures(this.options),
      protocolFeatures: this.options.protocolFeatures ?? featureMask(ProtocolFeature.REPLY_ACK),
      ...(this.options.protocolFeaturesBit !== undefined ? { protocolFeaturesBit: this.options.protocolFeaturesBit } : {}),
    });
    await sendMemoryTable(session, this.memory);
    // What the front-end restores before the rings, e.g. SET_INFLIGHT_FD.
    if (beforeRings !== undefined) await beforeRings(session);
    const bases = new Map<number, number>();
    for (const index of this.queues.keys()) {
      const base = this.usedIdx(index);
      bases.set(index, base);
      await this.configureRing(index, { ...start, base });
    }
    return bases;
  }

  /** The memory table body for this memory (for hand-built SET_MEM_TABLE variants). */
  tableBody(): Uint8Array {
    return memoryTable.encode({
      regions: this.memory.regions.map((r) => ({
        guestPhysAddr: BigInt(r.guestPhysAddr), memorySize: BigInt(r.size), userspaceAddr: BigInt(r.userAddr), mmapOffset: BigInt(r.mmapOffset),
      })),
    });
  }

  /** Releases eventfds and memories (the session belongs to the runner). Idempotent. */
  close(): void {
    for (const fd of this.#fds) {
      try { closeFd(fd); } catch { /* already closed */ }
    }
    this.#fds = [];
    this.memory.close();
    for (const m of this.#retired) m.close();
    this.#retired = [];
  }

  #build(previous?: RigQueue[]): void {
    const rings = this.options.rings ?? [0, 1];
    this.queues.clear();
    rings.forEach((index, i) => {
      const driver = SplitQueueDriver.create(this.memory, this.alloc, {
        size: this.queueSize, eventIdx: this.options.eventIdx, indirect: this.options.indirect,
        tracker: { checkReadable: this.options.checkReadable },
      });
      const bufBase = this.alloc.alloc(this.queueSize * this.bufferSize, 4096);
      const prev = previous?.[i];
      let kickFd = prev?.kickFd;
      let callFd = prev?.callFd;
      if (kickFd === undefined || callFd === undefined) {
        kickFd = eventfdCreate();
        this.#fds.push(kickFd);
        callFd = eventfdCreate();
        this.#fds.push(callFd);
      }
      this.queues.set(index, {
        index, driver, kickFd, callFd, bufBase,
        freeBufs: Array.from({ length: this.queueSize }, (_, b) => this.queueSize - 1 - b),
        headToBuf: new Map(),
      });
    });
  }
}

/** The part of a case context the rig helpers use. */
export interface RigContext {
  openSession(options?: { replyTimeoutMs?: number }): Promise<FrontendSession>;
}

/** Opens a session, builds a {@link RingRig} on it, runs `fn`, and always releases the rig and closes the session. */
export async function withRig<T>(ctx: RigContext, options: RigOptions, fn: (rig: RingRig) => Promise<T>): Promise<T> {
  const session = await ctx.openSession();
  const rig = await RingRig.open(session, options);
  try {
    return await fn(rig);
  } finally {
    rig.close();
    // A back-end in client mode holds one connection at a time: the next session can only come
    // once this one is gone. (rig.session, since reattach may have replaced the first one.)
    rig.session.close();
    session.close();
  }
}

/**
 * Frames through a looping net back-end over packed virtqueues (virtio 1.2 §2.8): RX and TX
 * rings built by the packed driver, started with SET_VRING_BASE carrying index 0 and wrap
 * counter 1 (vhost-user "Vring descriptor indices for packed virtqueues"), and enough frames to
 * wrap the rings many times. {@link PackedPair} also stops and restarts the rings, so a case can
 * check what GET_VRING_BASE reports mid-wrap and that the rings resume from it.
 * @module
 */
import { closeFd, eventfdCreate, eventfdWrite } from '../../native/index.js';
import {
  FrontendRequest, NetFeature, PACKED_INITIAL_BASE, ProtocolFeature, VirtioFeature, featureMask, hasFeature, vringBase,
} from '../../fakes/wire/index.js';
import { GuestAllocator, MemfdGuestMemory } from '../../fakes/memory/index.js';
import { PackedQueueDriver, type HostileIndirect, type UsedOut } from '../../fakes/virtqueue/index.js';
import { negotiate, sendMemoryTable, type FrontendSession } from '../../fakes/frontend/index.js';
import type { CaseContext } from '../model.js';
import { NET_HDR_LEN, PROBE_SEQ, frameDiff, frameSeq, testFrame } from './data-net-loop.js';
import { mismatch, type CheckResult } from './ring-verdict.js';
import { sleep } from './ring-wait.js';

/** Options of {@link packedLoop}. */
export interface PackedLoopOptions {
  count: number;
  size: number;
  queueSize: number;
}

/** Base for a fresh packed ring: avail index 0 with wrap 1, used index 0 with wrap 1 (§3.3). */
export const PACKED_FRESH_BASE = vringBase.encodePackedBase(PACKED_INITIAL_BASE);
const BUF = 2048;

/** One packed ring of the pair and the packet buffers behind it. */
interface PackedRing {
  readonly index: number;
  readonly driver: PackedQueueDriver;
  readonly bufBase: number;
  readonly kickFd: number;
  readonly callFd: number;
  readonly idToBuf: Map<number, number>;
  readonly free: number[];
}

/** Packed RX (ring 0) and TX (ring 1) of net pair 0 on one session, driven step by step. */
export class PackedPair {
  readonly rings: readonly PackedRing[];
  /** Bytes of each RX buffer offered to the device (at most 2 KiB; smaller makes frames merge). */
  rxBufferLen = BUF;
  /**
   * With INDIRECT_DESC: every TX frame and RX buffer goes through an indirect table, with these
   * values in the fields the device must ignore (undefined: direct descriptors, as by default).
   */
  indirect: HostileIndirect | undefined;
  #warm = false;
  private readonly out: UsedOut = { id: 0, len: 0 };
  /** Allocator over `mem` after the rings and buffers: scratch areas (hand-written chains) come from here. */
  readonly alloc: GuestAllocator;

  private constructor(
    readonly session: FrontendSession,
    readonly mem: MemfdGuestMemory,
    readonly queueSize: number,
    private readonly fds: number[],
    indirect = false,
  ) {
    const alloc = new GuestAllocator(mem);
    this.alloc = alloc;
    const allocFn = (size: number, align: number): number => alloc.allocZeroed(size, align);
    this.rings = [0, 1].map((index) => {
      const driver = PackedQueueDriver.create(mem, allocFn, { size: queueSize, indirect });
      const bufBase = alloc.alloc(queueSize * BUF, 4096);
      const kickFd = eventfdCreate();
      const callFd = eventfdCreate();
      fds.push(kickFd, callFd);
      return { index, driver, bufBase, kickFd, callFd, idToBuf: new Map<number, number>(), free: Array.from({ length: queueSize }, (_, b) => b) };
    });
  }

  /**
   * Opens a session, negotiates RING_PACKED and sends the memory table. Returns a mismatch when
   * the back-end does not offer RING_PACKED (the caller's `needs` normally prevents that).
   */
  static async open(ctx: Pick<CaseContext, 'openSession'>, queueSize: number, options: { mergeable?: boolean; indirect?: boolean } = {}): Promise<PackedPair | CheckResult> {
    const s = await ctx.openSession();
    const wanted = featureMask(VirtioFeature.VERSION_1, VirtioFeature.RING_PACKED)
      | (options.mergeable === true ? featureMask(NetFeature.MRG_RXBUF) : 0n)
      | (options.indirect === true ? featureMask(VirtioFeature.INDIRECT_DESC) : 0n);
    const neg = await negotiate(s, { features: wanted, protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK) });
    if (!hasFeature(neg.features, VirtioFeature.RING_PACKED)) return mismatch('RING_PACKED negotiated', 'not offered');
    if (options.mergeable === true && !hasFeature(neg.features, NetFeature.MRG_RXBUF)) return mismatch('MRG_RXBUF negotiated', 'not offered');
    if (options.indirect === true && !hasFeature(neg.features, VirtioFeature.INDIRECT_DESC)) return mismatch('INDIRECT_DESC negotiated', 'not offered');
    const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0x1_0000_0000, size: 4 << 20 }], { name: 'vhostlab-packed' });
    const pair = new PackedPair(s, mem, queueSize, [], options.indirect === true);
    try {
      await sendMemoryTable(s, mem);
    } catch (err) {
      pair.close();
      throw err;
    }
    return pair;
  }

  get rx(): PackedRing { return this.rings[0]; }
  get tx(): PackedRing { return this.rings[1]; }

  /** Sends NUM, BASE (`bases` per ring, default fresh), ADDR, KICK, CALL and ENABLE for both rings. */
  async start(bases: ReadonlyMap<number, number> = new Map()): Promise<void> {
    const s = this.session;
    for (const r of this.rings) {
      await s.setVringNum(r.index, this.queueSize);
      await s.setVringBase(r.index, bases.get(r.index) ?? PACKED_FRESH_BASE);
      await s.setVringAddr({
        index: r.index, flags: 0,
        descAddr: BigInt(this.mem.gpaToUser(r.driver.descAddr)),
        availAddr: BigInt(this.mem.gpaToUser(r.driver.driverEventAddr)),
        usedAddr: BigInt(this.mem.gpaToUser(r.driver.deviceEventAddr)),
        logGuestAddr: 0n,
      });
      await s.setVringFd(FrontendRequest.SET_VRING_KICK, r.index, r.kickFd);
      await s.setVringFd(FrontendRequest.SET_VRING_CALL, r.index, r.callFd);
      await s.setVringEnable(r.index, true);
    }
    // A restarted ring still holds available buffers (posted RX) that were kicked before the
    // stop: kick once, as QEMU does after restoring a ring (VU-MIG-016).
    if (bases.size > 0) for (const r of this.rings) eventfdWrite(r.kickFd);
  }

  /** Stops both rings with GET_VRING_BASE (RX first, as QEMU does) and returns the values. */
  async stop(): Promise<Map<number, number>> {
    const bases = new Map<number, number>();
    for (const r of this.rings) bases.set(r.index, (await this.session.getVringBase(r.index)) >>> 0);
    return bases;
  }

  /** Pops whatever used descriptors are left on both rings and frees their buffers. */
  drainUsed(): void {
    for (const r of this.rings) {
      while (r.driver.popUsedInto(this.out)) {
        const b = r.idToBuf.get(this.out.id);
        if (b !== undefined) { r.idToBuf.delete(this.out.id); r.free.push(b); }
      }
    }
  }

  /** Pops the RX used descriptors there are, returning each frame (after the header), and re-posts. */
  popRx(): { len: number; frame: Uint8Array }[] {
    const rx = this.rx;
    const got: { len: number; frame: Uint8Array }[] = [];
    while (rx.driver.popUsedInto(this.out)) {
      const b = rx.idToBuf.get(this.out.id);
      if (b === undefined) continue;
      rx.idToBuf.delete(this.out.id);
      rx.free.push(b);
      got.push({ len: this.out.len, frame: this.mem.read(rx.bufBase + b * BUF + NET_HDR_LEN, Math.max(0, this.out.len - NET_HDR_LEN)) });
    }
    if (got.length > 0) this.postRx();
    return got;
  }

  /**
   * Adds `frame` on TX as a two-descriptor chain (header, then frame) without publishing it: the
   * tail's flags are stored at once, the head's only by {@link PackedQueueDriver.publish}.
   */
  addTxChain(frame: Uint8Array): number {
    const tx = this.tx;
    const b = tx.free.pop();
    if (b === undefined) throw new Error('TX ring has no free buffer');
    const addr = tx.bufBase + b * BUF;
    const bytes = this.mem.slice(addr, NET_HDR_LEN + frame.length);
    bytes.fill(0, 0, NET_HDR_LEN);
    bytes.set(frame, NET_HDR_LEN);
    const id = tx.driver.addChain([{ addr, len: NET_HDR_LEN, write: false }, { addr: addr + NET_HDR_LEN, len: frame.length, write: false }]);
    if (id < 0) { tx.free.push(b); throw new Error('TX ring has no room for a chain'); }
    tx.idToBuf.set(id, b);
    return id;
  }

  private kick(r: PackedRing): void {
    r.driver.publish();
    if (r.driver.needsKick()) eventfdWrite(r.kickFd);
  }

  /** Posts every free RX buffer (`len` bytes of each, default {@link rxBufferLen}) and kicks when the device asks. */
  postRx(len = this.rxBufferLen): void {
    const rx = this.rx;
    let n = 0;
    for (let b = rx.free.pop(); b !== undefined; b = rx.free.pop()) {
      const addr = rx.bufBase + b * BUF;
      const id = this.indirect === undefined
        ? rx.driver.addSingle(addr, Math.min(len, BUF), true)
        : rx.driver.addIndirect([{ addr, len: NET_HDR_LEN, write: true }, { addr: addr + NET_HDR_LEN, len: Math.min(len, BUF) - NET_HDR_LEN, write: true }], this.indirect);
      if (id < 0) { rx.free.push(b); break; }
      rx.idToBuf.set(id, b);
      n++;
    }
    if (n > 0) this.kick(rx);
  }

  /** GPA of packet buffer `b` of ring `index`. */
  bufAddr(index: number, b: number): number {
    return this.rings[index].bufBase + b * BUF;
  }

  /**
   * Queues a frame on TX: one descriptor, or with `parts` ≥ 2 a chain of the 12-byte header and
   * the frame cut into `parts - 1` pieces (virtio §2.8.6). Not published.
   */
  private send(seq: number, size: number, parts = 1): Uint8Array | undefined {
    const tx = this.tx;
    const b = tx.free.pop();
    if (b === undefined) return undefined;
    const f = testFrame(seq, size);
    const addr = tx.bufBase + b * BUF;
    const bytes = this.mem.slice(addr, NET_HDR_LEN + f.length);
    bytes.fill(0, 0, NET_HDR_LEN);
    bytes.set(f, NET_HDR_LEN);
    let id: number;
    if (this.indirect !== undefined) id = tx.driver.addIndirect([{ addr, len: NET_HDR_LEN, write: false }, { addr: addr + NET_HDR_LEN, len: f.length, write: false }], this.indirect);
    else if (parts <= 1) id = tx.driver.addSingle(addr, NET_HDR_LEN + f.length, false);
    else {
      const pieces: { addr: number; len: number; write: boolean }[] = [{ addr, len: NET_HDR_LEN, write: false }];
      const cut = Math.ceil(f.length / (parts - 1));
      for (let at = 0; at < f.length; at += cut) pieces.push({ addr: addr + NET_HDR_LEN + at, len: Math.min(cut, f.length - at), write: false });
      id = tx.driver.addChain(pieces);
    }
    if (id < 0) { tx.free.push(b); return undefined; }
    tx.idToBuf.set(id, b);
    return f;
  }

  /**
   * Loops `count` frames of `size` bytes (sequence numbers from `firstSeq`), after probes until
   * the first one comes back on a fresh pair; checks each comes back once and intact and that
   * the drivers saw no violation. `partsOf` says how many descriptors each frame's TX chain has.
   * Leaves every TX chain returned when it succeeds.
   */
  async loop(ctx: Pick<CaseContext, 'waitMs' | 'signal'>, count: number, size: number, firstSeq = 0, partsOf: (seq: number) => number = () => 1): Promise<CheckResult> {
    const { rx, tx, out, mem } = this;
    const sent = new Map<number, Uint8Array>();
    const got = new Set<number>();
    const problems: string[] = [];
    let next = firstSeq;
    const end = firstSeq + count;
    let deadline = Date.now() + ctx.waitMs;
    this.postRx();
    while ((got.size < count || tx.driver.inFlight > 0) && Date.now() < deadline && !ctx.signal.aborted) {
      this.reclaimTx();
      if (!this.#warm) {
        if (tx.driver.inFlight === 0 && this.send(PROBE_SEQ, 64)) this.kick(tx);
      } else {
        let n = 0;
        while (next < end && next - firstSeq - got.size < this.queueSize / 2) {
          const f = this.send(next, size, partsOf(next));
          if (!f) break;
          sent.set(next++, f);
          n++;
        }
        if (n > 0) this.kick(tx);
      }
      await sleep(this.#warm ? 1 : 20);
      while (rx.driver.popUsedInto(out)) {
        const b = rx.idToBuf.get(out.id);
        if (b === undefined) { problems.push(`RX used id ${out.id} is not in flight`); continue; }
        rx.idToBuf.delete(out.id);
        rx.free.push(b);
        const frame = mem.read(rx.bufBase + b * BUF + NET_HDR_LEN, Math.max(0, out.len - NET_HDR_LEN));
        const seq = frameSeq(frame);
        if (seq === PROBE_SEQ) { this.#warm = true; continue; }
        if (seq === undefined || !sent.has(seq)) { problems.push(`RX id ${out.id} (len ${out.len}) holds no frame we sent`); continue; }
        if (got.has(seq)) { problems.push(`frame ${seq} came back twice`); continue; }
        got.add(seq);
        deadline = Math.max(deadline, Date.now() + 1000);
        const d = frameDiff(sent.get(seq)!, frame);
        if (d) problems.push(`frame ${seq}: ${d}`);
      }
      this.postRx();
      const v = [...rx.driver.tracker.violations, ...tx.driver.tracker.violations];
      if (v.length > 0) problems.push(`${v[0].rule}: ${v[0].detail}`);
      if (problems.length > 0) break;
    }
    const what = `${count} frames of ${size} bytes loop intact through ${this.queueSize}-entry packed rings`;
    if (problems.length > 0) return mismatch(what, problems.slice(0, 3).join('; '));
    if (!this.#warm) return mismatch(what, `no probe frame came back within ${ctx.waitMs} ms`);
    if (got.size < count) return mismatch(what, `${got.size} of ${count} came back (sent ${next - firstSeq})`);
    if (tx.driver.inFlight > 0) return mismatch(`every TX chain is returned`, `${tx.driver.inFlight} TX chains still owned by the device`);
    return undefined;
  }

  private reclaimTx(): void {
    const tx = this.tx;
    while (tx.driver.popUsedInto(this.out)) {
      const b = tx.idToBuf.get(this.out.id);
      if (b !== undefined) { tx.idToBuf.delete(this.out.id); tx.free.push(b); }
    }
  }

  close(): void {
    for (const fd of this.fds) closeFd(fd);
    this.mem.close();
  }
}

/** Loops frames through packed rings on pair 0 of a fresh session. */
export async function packedLoop(ctx: CaseContext, o: PackedLoopOptions): Promise<CheckResult> {
  const pair = await PackedPair.open(ctx, o.queueSize);
  if (!(pair instanceof PackedPair)) return pair;
  try {
    await pair.start();
    return await pair.loop(ctx, o.count, o.size);
  } finally {
    pair.close();
  }
}

/**
 * The net device the reconnect and memory fuzzers drive: one RX/TX ring pair in memfd guest
 * memory that outlives connections (as a guest's rings outlive a back-end restart), attached to a
 * session with the ordinary start sequence and a chosen SET_VRING_BASE per ring, and numbered,
 * checksummed frames with per-sequence receive counts. Descriptor lifetimes are tracked by the
 * drivers' trackers (used twice, unknown id); what is still in flight at the end is lost.
 * @module
 */
import { closeFd, eventfdCreate, eventfdWrite } from '../../native/index.js';
import { FrontendInflightArea, negotiate, sendMemoryTable, startRing, type FrontendSession } from '../../fakes/frontend/index.js';
import { MemfdGuestMemory, GuestAllocator, type GuestMemory, type GuestRegion } from '../../fakes/memory/index.js';
import { SplitQueueDriver, type UsedElement } from '../../fakes/virtqueue/index.js';
import { NET_HDR, ProtocolFeature, VirtioFeature, featureMask, hasFeature, netRxQueue, netTxQueue } from '../../fakes/wire/index.js';
import { prepareFrame, sumFrame, SEQ_OFFSET } from '../../fakes/frontend/traffic/frame.js';

/** Ring size of the loop device. */
export const LOOP_QUEUE_SIZE = 64;
const RX_BUF = 2048;
const TX_BUF = 2048;
/** Frame size without the net header. */
export const LOOP_FRAME = 128;
const HDR = NET_HDR.SIZE_V1;

/** One ring of the device. */
interface Ring {
  readonly index: number;
  readonly driver: SplitQueueDriver;
  readonly kickFd: number;
  readonly callFd: number;
}

/** Options of {@link LoopDevice.create}. */
export interface LoopDeviceOptions {
  /** Guest memory: where buffers live is chosen by `bufferMemory` (default: the ring memory). */
  readonly memory?: MemfdGuestMemory;
  /** GPA of the RX/TX buffer areas (default: allocated after the rings). */
  readonly bufferBase?: number;
  /** Memory the frames are read and written through (the memory fuzzer swaps it). */
  readonly bufferMemory?: () => GuestMemory;
  /** The regions sent as the memory table (default: `memory`'s). */
  readonly tableRegions?: () => readonly GuestRegion[];
  /** Protocol features to ask for besides REPLY_ACK and MQ. */
  readonly extraProtocolFeatures?: bigint;
  /**
   * Use inflight I/O tracking when the back-end offers INFLIGHT_SHMFD: one GET_INFLIGHT_FD on the
   * first attach, the same area handed back with SET_INFLIGHT_FD on every attach (default false).
   */
  readonly inflight?: boolean;
}

/** A loopback net device whose rings survive reconnects. */
export class LoopDevice {
  /** Times each sequence number came back. */
  readonly received = new Map<number, number>();
  corrupted = 0;
  nextSeq = 0;
  private readonly rxHeadToBuf = new Int32Array(LOOP_QUEUE_SIZE).fill(-1);
  private readonly txHeadToSeq = new Int32Array(LOOP_QUEUE_SIZE).fill(-1);
  private readonly used: UsedElement = { id: 0, len: 0 };
  private closed = false;
  private inflightArea: FrontendInflightArea | undefined;

  private constructor(
    readonly memory: MemfdGuestMemory,
    readonly rx: Ring,
    readonly tx: Ring,
    readonly rxArea: number,
    readonly txArea: number,
    private readonly bufferMemory: () => GuestMemory,
    private readonly ownsMemory: boolean,
    private readonly options: LoopDeviceOptions,
  ) {}

  /** Creates memory (unless given), rings, eventfds and buffer areas. */
  static create(o: LoopDeviceOptions = {}): LoopDevice {
    const memory = o.memory ?? MemfdGuestMemory.create([{ guestPhysAddr: 0x1_0000_0000, size: 1 << 20 }], { name: 'vhostlab-loop' });
    const alloc = new GuestAllocator(memory);
    const ring = (index: number): Ring => {
      const driver = SplitQueueDriver.create(memory, alloc, { size: LOOP_QUEUE_SIZE });
      driver.suppressInterrupts(true);
      return { index, driver, kickFd: eventfdCreate(), callFd: eventfdCreate() };
    };
    const rx = ring(netRxQueue(0));
    const tx = ring(netTxQueue(0));
    const rxArea = o.bufferBase ?? alloc.alloc(RX_BUF * LOOP_QUEUE_SIZE, 4096);
    const txArea = o.bufferBase !== undefined ? o.bufferBase + RX_BUF * LOOP_QUEUE_SIZE : alloc.alloc(TX_BUF * LOOP_QUEUE_SIZE, 4096);
    const dev = new LoopDevice(memory, rx, tx, rxArea, txArea, o.bufferMemory ?? (() => memory), o.memory === undefined, o);
    dev.postRx();
    return dev;
  }

  /** Negotiates, sends the memory table and starts both rings at `bases` (default: the used indices). */
  async attach(session: FrontendSession, bases?: { rx: number; tx: number }): Promise<void> {
    const protocolFeatures = featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.MQ) | (this.options.extraProtocolFeatures ?? 0n)
      | (this.options.inflight ? featureMask(ProtocolFeature.INFLIGHT_SHMFD) : 0n);
    const n = await negotiate(session, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures });
    // Only `regions` is read when sending the table.
    await sendMemoryTable(session, this.options.tableRegions ? ({ regions: this.options.tableRegions() } as GuestMemory) : this.memory);
    if (this.options.inflight && hasFeature(n.protocolFeatures, ProtocolFeature.INFLIGHT_SHMFD)) {
      // QEMU's order: the area once, kept across reconnects and back-end restarts, given back on every start.
      this.inflightArea ??= await FrontendInflightArea.request(session, 2, LOOP_QUEUE_SIZE);
      await this.inflightArea.give(session);
    }
    for (const r of [this.rx, this.tx]) {
      const base = r === this.rx ? (bases?.rx ?? this.usedIdx(this.rx)) : (bases?.tx ?? this.usedIdx(this.tx));
      const l = r.driver.layout;
      await startRing(session, this.memory, { index: r.index, size: LOOP_QUEUE_SIZE, descAddr: l.descAddr, availAddr: l.availAddr, usedAddr: l.usedAddr, base, kickFd: r.kickFd, callFd: r.callFd });
    }
  }

  /** Whether an inflight area is in use (the back-end offered INFLIGHT_SHMFD and `inflight` was asked). */
  get inflightInUse(): boolean {
    return this.inflightArea !== undefined;
  }

  /** The device's used index of a ring, as written in guest memory. */
  usedIdx(r: Ring): number {
    return this.memory.readU16(r.driver.layout.usedAddr + 2);
  }

  /** Descriptors the device holds on the TX ring (sent, not returned). */
  get txInFlight(): number {
    return this.tx.driver.inFlight;
  }

  /** Every lifetime violation seen by either ring's tracker. */
  get violations(): { rule: string; detail: string }[] {
    return [...this.rx.driver.tracker.violations, ...this.tx.driver.tracker.violations].map((v) => ({ rule: v.rule, detail: v.detail }));
  }

  /** Posts every free RX buffer. */
  postRx(): void {
    const d = this.rx.driver;
    for (let b = 0; b < LOOP_QUEUE_SIZE; b++) {
      if (this.rxBufferPosted(b)) continue;
      const head = d.addSingle(this.rxArea + b * RX_BUF, RX_BUF, true);
      if (head < 0) break;
      this.rxHeadToBuf[head] = b;
    }
    d.publish();
    if (d.needsKick()) eventfdWrite(this.rx.kickFd);
  }

  private rxBufferPosted(b: number): boolean {
    for (let h = 0; h < LOOP_QUEUE_SIZE; h++) if (this.rxHeadToBuf[h] === b && this.rx.driver.isInFlight(h)) return true;
    return false;
  }

  /** Sends up to `n` frames (fewer when the TX ring is full); returns how many were posted. */
  sendFrames(n: number): number {
    const d = this.tx.driver;
    const mem = this.bufferMemory();
    let sent = 0;
    for (; sent < n; sent++) {
      const seq = this.nextSeq;
      // The buffer is chosen by head: add first, then point the descriptor at that head's buffer.
      const head = d.addSingle(this.txArea, HDR + LOOP_FRAME, false);
      if (head < 0) break;
      this.fillTx(mem, head, seq);
      this.txHeadToSeq[head] = seq;
      this.nextSeq++;
    }
    d.publish();
    if (sent > 0) eventfdWrite(this.tx.kickFd);
    return sent;
  }

  private fillTx(mem: GuestMemory, head: number, seq: number): void {
    // Rewrite the descriptor's buffer address: one TX buffer per head.
    const addr = this.txArea + head * TX_BUF;
    const descAddr = this.tx.driver.layout.descAddr + head * 16;
    this.memory.writeU64(descAddr, BigInt(addr));
    const buf = mem.slice(addr, HDR + LOOP_FRAME);
    buf.fill(0, 0, HDR);
    const frame = buf.subarray(HDR);
    const base = prepareFrame(frame, head);
    const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    v.setUint32(SEQ_OFFSET, seq, true);
    v.setUint32(SEQ_OFFSET + 4, (0 - ((base + seq) | 0)) >>> 0, true);
  }

  /** Collects TX completions and received frames, reposting RX buffers. */
  poll(): void {
    const mem = this.bufferMemory();
    while (this.tx.driver.popUsedInto(this.used)) { /* completion: the tracker checked it */ }
    let got = 0;
    while (this.rx.driver.popUsedInto(this.used)) {
      got++;
      const b = this.rxHeadToBuf[this.used.id];
      if (b < 0 || this.used.len !== HDR + LOOP_FRAME) {
        this.corrupted++;
        continue;
      }
      const frame = mem.slice(this.rxArea + b * RX_BUF + HDR, LOOP_FRAME);
      if (sumFrame(frame) !== 0 || frame[12] !== 0x88 || frame[13] !== 0xb5) {
        this.corrupted++;
        continue;
      }
      const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(SEQ_OFFSET, true);
      this.received.set(seq, (this.received.get(seq) ?? 0) + 1);
    }
    if (got > 0) this.postRx();
  }

  /** Polls until every TX descriptor is back and frames `from..nextSeq-1` arrived, or `timeoutMs`. */
  async drain(timeoutMs: number, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.poll();
      let missing = false;
      for (let s = from; s < this.nextSeq && !missing; s++) if (!this.received.has(s)) missing = true;
      if (this.txInFlight === 0 && !missing) return;
      if (Date.now() >= deadline) return;
      // Kick again: a back-end that lost a kick across the reconnect must still see the work.
      eventfdWrite(this.tx.kickFd);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Releases eventfds (and memory when the device created it). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inflightArea?.close();
    for (const r of [this.rx, this.tx]) {
      closeFd(r.kickFd);
      closeFd(r.callFd);
    }
    if (this.ownsMemory) this.memory.close();
  }
}

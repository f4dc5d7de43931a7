/**
 * A virtio-net device driven through vhost-user: guest memory in memfds, one RX and one TX ring
 * per queue pair (RX = 2k, TX = 2k + 1), packet buffers, and eventfds. This is what
 * `vhostlab traffic` and the data-path cases bring up.
 * @module
 */
import { closeFd, eventfdCreate } from '../../native/index.js';
import {
  NET_HDR, NetFeature, PACKED_INITIAL_BASE, ProtocolFeature, VirtioFeature, featureMask, hasFeature, netRxQueue,
  netTxQueue, vringBase,
} from '../wire/index.js';
import { GuestAllocator, MemfdGuestMemory } from '../memory/index.js';
import { PackedQueueDriver, SplitQueueDriver, type LifetimeViolation } from '../virtqueue/index.js';
import type { FrontendSession } from './session.js';
import { negotiate, sendMemoryTable, startRing, type Negotiated } from './start.js';

/** The ring operations the traffic loop needs; split and packed drivers both provide them. */
export interface TrafficQueue {
  /** Adds a one-buffer chain; returns its head id, or -1 when the ring is full. */
  addSingle(addr: number, len: number, writable: boolean): number;
  /** Makes everything added since the last call visible to the device. */
  publish(): void;
  /** Whether the device asked to be kicked for what was just published. */
  needsKick(): boolean;
  /** Moves the next used element into `out`; false when there is none. */
  popUsedInto(out: { id: number; len: number }): boolean;
  /** Lifetime violations recorded so far. */
  readonly tracker: { readonly violations: readonly LifetimeViolation[] };
}

/** One ring of the device and its eventfds. */
export interface NetQueue {
  index: number;
  driver: TrafficQueue;
  /** Where the ring lives (GPAs); for packed rings avail/used are the driver/device event areas. */
  layout: { descAddr: number; availAddr: number; usedAddr: number };
  kickFd: number;
  callFd: number;
}

/** A contiguous area of equally sized packet buffers. */
export interface BufferArea {
  /** GPA of buffer 0. */
  addr: number;
  /** Bytes from one buffer to the next (4-byte aligned). */
  stride: number;
  /** View over the whole area. */
  bytes: Uint8Array;
}

/** One RX/TX queue pair. */
export interface NetQueuePair {
  queueSize: number;
  rx: NetQueue;
  tx: NetQueue;
  rxBuffers: BufferArea;
  txBuffers: BufferArea;
}

/** Options of {@link startNetDevice}. */
export interface NetDeviceOptions {
  /** Queue pairs to start (default 1). More than one needs MQ from the back-end. */
  queuePairs?: number;
  /** Ring size (default 256). */
  queueSize?: number;
  /** Largest frame to carry (default 1518). */
  maxFrame?: number;
  /** Extra virtio features to ask for. */
  extraFeatures?: bigint;
  /** Extra protocol features to ask for (e.g. STATUS), besides MQ, REPLY_ACK and CONFIGURE_MEM_SLOTS. */
  extraProtocolFeatures?: bigint;
  /** Use packed virtqueues (VIRTIO_F_RING_PACKED); the back-end must offer them. */
  packed?: boolean;
}

const RX_BUFFER = 2048;
/** The largest frame (without the virtio-net header) one RX buffer holds: what `traffic` can send. */
export const MAX_TRAFFIC_FRAME = RX_BUFFER - NET_HDR.SIZE_V1;

/** A started net device. */
export class NetDevice {
  private closed = false;
  private constructor(
    readonly session: FrontendSession,
    readonly memory: MemfdGuestMemory,
    readonly negotiated: Negotiated,
    readonly pairs: NetQueuePair[],
    readonly netHeaderSize: number,
    readonly maxFrame: number,
    private readonly fds: number[],
  ) {}

  /** Negotiates, sends the memory table and starts every ring of `queuePairs` pairs. */
  static async start(session: FrontendSession, options: NetDeviceOptions = {}): Promise<NetDevice> {
    const queuePairs = options.queuePairs ?? 1;
    const queueSize = options.queueSize ?? 256;
    const maxFrame = options.maxFrame ?? 1518;
    const netHeaderSize = NET_HDR.SIZE_V1;
    if (maxFrame + netHeaderSize > RX_BUFFER) throw new RangeError(`frames above ${RX_BUFFER - netHeaderSize} bytes need mergeable RX buffers, which vhostlab traffic does not use`);
    const features = featureMask(VirtioFeature.VERSION_1) | (queuePairs > 1 ? featureMask(NetFeature.MQ) : 0n)
      | (options.packed ? featureMask(VirtioFeature.RING_PACKED) : 0n) | (options.extraFeatures ?? 0n);
    const protocolFeatures = featureMask(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK, ProtocolFeature.CONFIGURE_MEM_SLOTS) | (options.extraProtocolFeatures ?? 0n);
    const negotiated = await negotiate(session, { features, protocolFeatures });
    if (!hasFeature(negotiated.features, VirtioFeature.VERSION_1)) throw new Error('the back-end does not offer VERSION_1, which vhostlab traffic needs');
    if (options.packed && !hasFeature(negotiated.features, VirtioFeature.RING_PACKED)) throw new Error('the back-end does not offer RING_PACKED (packed virtqueues)');
    if (queuePairs > 1 && negotiated.queueNum !== undefined && BigInt(queuePairs) > negotiated.queueNum) {
      throw new RangeError(`asked for ${queuePairs} queue pairs; the back-end offers ${negotiated.queueNum}`);
    }

    const txStride = align(netHeaderSize + maxFrame, 64);
    const perPair = 2 * (16 * queueSize + 6 + 2 * queueSize + 6 + 8 * queueSize + 64) + queueSize * (RX_BUFFER + txStride) + 4096;
    const size = align(queuePairs * perPair + (1 << 20), 2 << 20);
    const memory = MemfdGuestMemory.create([{ guestPhysAddr: 0x1_0000_0000, size }], { name: 'vhostlab-net' });
    const fds: number[] = [];
    try {
      const alloc = new GuestAllocator(memory);
      const pairs: NetQueuePair[] = [];
      // With EVENT_IDX the drivers suppress interrupts through used_event: avail->flags must stay 0 (virtio §2.7.7.2).
      const eventIdx = hasFeature(negotiated.features, VirtioFeature.EVENT_IDX);
      // With IN_ORDER a packed device may complete a run of buffers with one used descriptor.
      const inOrder = hasFeature(negotiated.features, VirtioFeature.IN_ORDER);
      for (let p = 0; p < queuePairs; p++) {
        const mkQueue = (index: number): NetQueue => {
          let driver: TrafficQueue;
          let layout: NetQueue['layout'];
          if (options.packed) {
            const packed = PackedQueueDriver.create(memory, (n, a) => alloc.alloc(n, a), { size: queueSize, eventIdx, inOrder });
            packed.setInterrupts(false); // the traffic loop polls the used descriptors
            const c = packed.vringConfig();
            driver = packed;
            layout = { descAddr: c.descAddr, availAddr: c.availAddr, usedAddr: c.usedAddr };
          } else {
            const split = SplitQueueDriver.create(memory, alloc, { size: queueSize, eventIdx });
            split.suppressInterrupts(true); // the traffic loop polls the used rings
            driver = split;
            layout = split.layout;
          }
          const kickFd = eventfdCreate();
          fds.push(kickFd);
          const callFd = eventfdCreate();
          fds.push(callFd);
          return { index, driver, layout, kickFd, callFd };
        };
        const rx = mkQueue(netRxQueue(p));
        const tx = mkQueue(netTxQueue(p));
        const area = (stride: number): BufferArea => {
          const addr = alloc.alloc(stride * queueSize, 4096);
          return { addr, stride, bytes: memory.slice(addr, stride * queueSize) };
        };
        pairs.push({ queueSize, rx, tx, rxBuffers: area(RX_BUFFER), txBuffers: area(txStride) });
      }
      await sendMemoryTable(session, memory);
      for (const pair of pairs) {
        for (const q of [pair.rx, pair.tx]) {
          const { descAddr, availAddr, usedAddr } = q.layout;
          // A packed ring's base carries both wrap counters, which start at 1 (virtio §2.8.1).
          const base = options.packed ? vringBase.encodePackedBase(PACKED_INITIAL_BASE) : 0;
          await startRing(session, memory, { index: q.index, size: queueSize, descAddr, availAddr, usedAddr, base, kickFd: q.kickFd, callFd: q.callFd });
        }
      }
      return new NetDevice(session, memory, negotiated, pairs, netHeaderSize, maxFrame, fds);
    } catch (err) {
      for (const fd of fds) closeFd(fd);
      memory.close();
      throw err;
    }
  }

  /** Stops every ring with GET_VRING_BASE and returns the bases, ring by ring. */
  async stop(): Promise<{ index: number; base: number }[]> {
    const out = [];
    for (const pair of this.pairs) {
      for (const q of [pair.rx, pair.tx]) out.push({ index: q.index, base: await this.session.getVringBase(q.index) });
    }
    return out;
  }

  /** Releases eventfds and guest memory (the session is closed by its owner). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.fds) closeFd(fd);
    this.memory.close();
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

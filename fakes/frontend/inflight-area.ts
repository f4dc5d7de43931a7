/**
 * The front-end's side of inflight I/O tracking (vhost-user.rst "Inflight I/O tracking"): asks
 * the back-end for an area (GET_INFLIGHT_FD), keeps its fd and a mapping across connections and
 * back-end restarts (as QEMU keeps it), hands it back on every start (SET_INFLIGHT_FD), and lets
 * tests read or craft split queue regions (layout from `fakes/wire`).
 *
 * The stride between queue regions is the back-end's choice (CHECKLIST §3.11); back-ends size the
 * area as `num_queues × stride`, so the stride is taken as `mmap_size / num_queues` and checked to
 * hold at least a header and `queue_size` entries.
 * @module
 */
import { closeFd, mmapShared, type Mapping } from '../../native/index.js';
import { FrontendRequest, INFLIGHT_SPLIT as S, inflight, inflightRegionMinSize } from '../wire/index.js';
import type { FrontendSession } from './session.js';

/** The back-end's area cannot be used (its reply is the finding). */
export class InflightAreaError extends Error {
  override readonly name = 'InflightAreaError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_INFLIGHT_AREA';
}

/** One inflight entry of a split region. */
export interface SplitInflightEntry {
  readonly inflight: number;
  readonly counter: bigint;
}

/** A view of one split queue region. */
export class SplitRegion {
  private readonly v: DataView;

  constructor(bytes: Uint8Array, readonly queueSize: number) {
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get version(): number {
    return this.v.getUint16(S.VERSION, true);
  }

  set version(value: number) {
    this.v.setUint16(S.VERSION, value & 0xffff, true);
  }

  get descNum(): number {
    return this.v.getUint16(S.DESC_NUM, true);
  }

  set descNum(value: number) {
    this.v.setUint16(S.DESC_NUM, value & 0xffff, true);
  }

  get usedIdx(): number {
    return this.v.getUint16(S.USED_IDX, true);
  }

  set usedIdx(value: number) {
    this.v.setUint16(S.USED_IDX, value & 0xffff, true);
  }

  get lastBatchHead(): number {
    return this.v.getUint16(S.LAST_BATCH_HEAD, true);
  }

  set lastBatchHead(value: number) {
    this.v.setUint16(S.LAST_BATCH_HEAD, value & 0xffff, true);
  }

  entry(head: number): SplitInflightEntry {
    const e = S.HEADER_SIZE + S.ENTRY_SIZE * head;
    return { inflight: this.v.getUint8(e + S.ENTRY_INFLIGHT), counter: this.v.getBigUint64(e + S.ENTRY_COUNTER, true) };
  }

  /** Marks `head` as fetched and not returned, with `counter` (what a back-end that died mid-request leaves). */
  markInflight(head: number, counter: bigint): void {
    const e = S.HEADER_SIZE + S.ENTRY_SIZE * head;
    this.v.setBigUint64(e + S.ENTRY_COUNTER, counter, true);
    this.v.setUint8(e + S.ENTRY_INFLIGHT, 1);
  }

  /** Heads whose `inflight` byte is set. */
  inflightHeads(): number[] {
    const out: number[] = [];
    for (let h = 0; h < this.queueSize; h++) if (this.entry(h).inflight !== 0) out.push(h);
    return out;
  }

  /** The largest counter of any entry. */
  maxCounter(): bigint {
    let m = 0n;
    for (let h = 0; h < this.queueSize; h++) {
      const c = this.entry(h).counter;
      if (c > m) m = c;
    }
    return m;
  }
}

/** An inflight area obtained with GET_INFLIGHT_FD and mapped here. */
export class FrontendInflightArea {
  private constructor(
    private fd: number,
    private readonly mapping: Mapping,
    readonly info: inflight.Inflight,
    readonly stride: number,
  ) {}

  /**
   * Sends GET_INFLIGHT_FD for `numQueues` split queues of `queueSize` on `session` and maps the
   * area. Throws {@link InflightAreaError} when the reply has no fd or is too small.
   */
  static async request(session: FrontendSession, numQueues: number, queueSize: number): Promise<FrontendInflightArea> {
    const reply = await session.call(FrontendRequest.GET_INFLIGHT_FD, inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues, queueSize }), inflight.SIZE);
    const [fd, ...extra] = reply.fds;
    for (const x of extra) closeFd(x);
    if (fd === undefined) throw new InflightAreaError('GET_INFLIGHT_FD reply carries no fd');
    const info = inflight.decode(reply.body);
    const stride = Math.floor(Number(info.mmapSize) / numQueues);
    if (stride < inflightRegionMinSize(queueSize, false)) {
      closeFd(fd);
      throw new InflightAreaError(`GET_INFLIGHT_FD: mmap_size ${info.mmapSize} cannot hold ${numQueues} split regions of ${queueSize} entries`);
    }
    let mapping: Mapping;
    try {
      mapping = mmapShared(fd, Number(info.mmapOffset) + Number(info.mmapSize), 0);
    } catch (err) {
      closeFd(fd);
      throw new InflightAreaError(`cannot map the inflight area: ${(err as Error).message}`);
    }
    return new FrontendInflightArea(fd, mapping, { ...info, numQueues, queueSize }, stride);
  }

  /** The split region of queue `index`. */
  split(index: number): SplitRegion {
    const at = Number(this.info.mmapOffset) + index * this.stride;
    return new SplitRegion(new Uint8Array(this.mapping.buffer, at, this.stride), this.info.queueSize);
  }

  /** SET_INFLIGHT_FD with this area on `session` (acked under REPLY_ACK). */
  async give(session: FrontendSession): Promise<void> {
    await session.command(FrontendRequest.SET_INFLIGHT_FD, inflight.encode(this.info), [this.fd]);
  }

  /** Unmaps and closes the fd. Idempotent. */
  close(): void {
    this.mapping.unmap();
    if (this.fd >= 0) {
      try { closeFd(this.fd); } catch { /* already closed */ }
      this.fd = -1;
    }
  }
}

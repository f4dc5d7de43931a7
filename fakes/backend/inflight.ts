/**
 * Inflight I/O tracking (vhost-user.rst "Inflight I/O tracking"; CHECKLIST §3.11, VU-RECON-*):
 * a shared area, one region per queue, in which the back-end marks every head it fetched and
 * clears it once the head is returned, so that a back-end that was killed and restarted can
 * resubmit exactly the unfinished heads — none lost, none repeated.
 *
 * The region layouts are in `fakes/wire` (inflight-layout.ts). The stride between queue regions
 * is ours to pick: 64-byte aligned, as libvhost-user and DPDK do. Packed queues get a region of the
 * §3.11 packed layout that is initialised but not tracked (see {@link InflightArea}).
 *
 * SECURITY: geometry from the front-end (SET_INFLIGHT_FD) is checked against the back-end's
 * queue count and the file size before mapping (VU-RECON-005, DPDK 6442c329).
 * @module
 */
import { fstatSync } from 'node:fs';
import { memfdCreate, mmapShared, type Mapping } from '../../native/index.js';
import { INFLIGHT_AREA_VERSION, INFLIGHT_REGION_ALIGN, INFLIGHT_SPLIT as S, inflightRegionMinSize } from '../wire/index.js';
import { closeQuietly } from './session-state.js';

/** Inflight area version the back-end writes (0 = uninitialised). */
export const INFLIGHT_VERSION = INFLIGHT_AREA_VERSION;

const align = (n: number): number => Math.ceil(n / INFLIGHT_REGION_ALIGN) * INFLIGHT_REGION_ALIGN;

/** Bytes of one queue's region for `queueSize` entries. */
export const inflightQueueStride = (queueSize: number, packed: boolean): number => align(inflightRegionMinSize(queueSize, packed));

/** Why an inflight area was refused. */
export class InflightError extends Error {
  override readonly name = 'InflightError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_INFLIGHT';
}

/** One queue's split inflight region. */
export class SplitInflight {
  private readonly v: DataView;
  private counter = 0n;

  constructor(bytes: Uint8Array, readonly queueSize: number) {
    // SAFETY: a view over the shared inflight memfd; the front-end only keeps it for us.
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private entry(head: number): number {
    return S.HEADER_SIZE + S.ENTRY_SIZE * head;
  }

  /** Initialises an all-zero (version 0) region; keeps a used one as it is. */
  init(): void {
    if (this.v.getUint16(S.VERSION, true) !== 0) return;
    this.v.setUint16(S.DESC_NUM, this.queueSize, true);
    this.v.setUint16(S.VERSION, INFLIGHT_VERSION, true);
  }

  /** A head was fetched: `inflight = 1` with a fresh, increasing counter. */
  fetched(head: number): void {
    if (head >= this.queueSize) return;
    const e = this.entry(head);
    this.v.setBigUint64(e + S.ENTRY_COUNTER, ++this.counter, true);
    this.v.setUint8(e + S.ENTRY_INFLIGHT, 1);
  }

  /** Before publishing a batch: remember its last head (spec step "last_batch_head"). */
  beforePublish(lastHead: number): void {
    this.v.setUint16(S.LAST_BATCH_HEAD, lastHead, true);
  }

  /** After publishing: the returned heads are no longer inflight; record the used index. */
  published(heads: readonly number[], count: number, usedIdx: number): void {
    for (let i = 0; i < count; i++) {
      const h = heads[i];
      if (h < this.queueSize) this.v.setUint8(this.entry(h) + S.ENTRY_INFLIGHT, 0);
    }
    this.v.setUint16(S.USED_IDX, usedIdx, true);
  }

  /**
   * After a restart: repairs a region whose last batch was published to the used ring but not
   * recorded (used_idx lags `ringUsedIdx`, VU-RECON-004) by clearing the heads the used ring
   * holds in that window (`usedIdOf(i)` reads used ring element `i`); then returns the inflight
   * heads in counter order (VU-RECON-003).
   */
  recover(ringUsedIdx: number, usedIdOf: (slot: number) => number): number[] {
    if (this.v.getUint16(S.VERSION, true) === 0) return [];
    let recorded = this.v.getUint16(S.USED_IDX, true);
    if (recorded !== ringUsedIdx) {
      for (; recorded !== ringUsedIdx; recorded = (recorded + 1) & 0xffff) {
        const id = usedIdOf(recorded);
        if (id < this.queueSize) this.v.setUint8(this.entry(id) + S.ENTRY_INFLIGHT, 0);
      }
      this.v.setUint16(S.USED_IDX, ringUsedIdx, true);
    }
    const pending: { head: number; counter: bigint }[] = [];
    for (let h = 0; h < this.queueSize; h++) {
      const e = this.entry(h);
      if (this.v.getUint8(e + S.ENTRY_INFLIGHT) === 1) pending.push({ head: h, counter: this.v.getBigUint64(e + S.ENTRY_COUNTER, true) });
    }
    pending.sort((a, b) => (a.counter < b.counter ? -1 : a.counter > b.counter ? 1 : 0));
    if (pending.length > 0) this.counter = pending[pending.length - 1].counter;
    return pending.map((p) => p.head);
  }
}

/** The whole inflight area of a session. */
export class InflightArea {
  private constructor(
    private readonly mapping: Mapping,
    private readonly bytes: Uint8Array,
    /** Queues covered. */
    readonly numQueues: number,
    /** Entries per queue. */
    readonly queueSize: number,
    /** Packed layout. */
    readonly packed: boolean,
  ) {}

  /** Total size for a geometry. */
  static sizeFor(numQueues: number, queueSize: number, packed: boolean): number {
    return numQueues * inflightQueueStride(queueSize, packed);
  }

  /**
   * GET_INFLIGHT_FD: creates a zeroed memfd for the geometry and maps it. Returns the area and
   * the fd to send (OWNERSHIP: the caller sends, then closes, that fd; the mapping stays).
   */
  static create(numQueues: number, queueSize: number, packed: boolean, maxQueues: number): { area: InflightArea; fd: number; size: number } {
    checkGeometry(numQueues, queueSize, maxQueues);
    const size = InflightArea.sizeFor(numQueues, queueSize, packed);
    const fd = memfdCreate('vhostlab-inflight', size);
    try {
      const mapping = mmapShared(fd, size, 0);
      return { area: new InflightArea(mapping, new Uint8Array(mapping.buffer), numQueues, queueSize, packed), fd, size };
    } catch (e) {
      closeQuietly(fd);
      throw new InflightError(`cannot map the inflight area: ${(e as Error).message}`);
    }
  }

  /** SET_INFLIGHT_FD: maps the front-end's area after checking its geometry. Does not take `fd`. */
  static map(fd: number, mmapSize: bigint, mmapOffset: bigint, numQueues: number, queueSize: number, packed: boolean, maxQueues: number): InflightArea {
    checkGeometry(numQueues, queueSize, maxQueues);
    const need = InflightArea.sizeFor(numQueues, queueSize, packed);
    if (mmapSize < BigInt(need)) throw new InflightError(`mmap_size ${mmapSize} is smaller than the ${need} bytes ${numQueues} queues of ${queueSize} need`);
    const end = mmapOffset + mmapSize;
    if (end > BigInt(Number.MAX_SAFE_INTEGER)) throw new InflightError('mmap_offset + mmap_size overflows');
    let fileSize: number;
    try {
      fileSize = fstatSync(fd).size;
    } catch (e) {
      throw new InflightError(`fstat on the inflight fd failed: ${(e as Error).message}`);
    }
    if (end > BigInt(fileSize)) throw new InflightError(`mmap_offset + mmap_size 0x${end.toString(16)} is beyond the file (0x${fileSize.toString(16)} bytes)`);
    let mapping: Mapping;
    try {
      mapping = mmapShared(fd, Number(end), 0);
    } catch (e) {
      throw new InflightError(`cannot map the inflight area: ${(e as Error).message}`);
    }
    return new InflightArea(mapping, new Uint8Array(mapping.buffer, Number(mmapOffset), need), numQueues, queueSize, packed);
  }

  /** The split region of queue `index`, or undefined (out of range, packed, or size mismatch). */
  splitQueue(index: number, queueSize: number): SplitInflight | undefined {
    if (this.packed || index >= this.numQueues || queueSize > this.queueSize) return undefined;
    const stride = inflightQueueStride(this.queueSize, false);
    const q = new SplitInflight(this.bytes.subarray(index * stride, (index + 1) * stride), this.queueSize);
    q.init();
    return q;
  }

  /** Unmaps the area. Idempotent. */
  close(): void {
    this.mapping.unmap();
  }
}

function checkGeometry(numQueues: number, queueSize: number, maxQueues: number): void {
  if (numQueues < 1 || numQueues > maxQueues) throw new InflightError(`num_queues ${numQueues} outside 1..${maxQueues}`);
  if (queueSize < 1 || queueSize > 32768) throw new InflightError(`queue_size ${queueSize} outside 1..32768`);
}

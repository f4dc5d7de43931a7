/**
 * Plain queue configuration → checked ring views (STYLE.md point 7, after vm-virtio `QueueState`).
 *
 * A {@link VringConfig} is what SET_VRING_NUM / SET_VRING_ADDR / SET_VRING_BASE add up to, and what
 * fuzzers generate: plain numbers and booleans, possibly nonsense. {@link mapRingAreas} is the one
 * gate from that form to live ring views; it throws {@link QueueConfigError} with the reason. The
 * device classes (`SplitQueueDevice.fromConfig`, `PackedQueueDevice.fromConfig`) go through it.
 *
 * Ring sizes and alignments come from `fakes/wire/ring-layout.ts` (virtio 1.2 §2.7, §2.8;
 * CHECKLIST §3.16).
 * @module
 */
import type { GuestMemory } from '../memory/guest-memory.js';
import {
  PACKED_DESC,
  PACKED_EVENT,
  SPLIT_AVAIL,
  SPLIT_DESC,
  SPLIT_USED,
  isValidPackedQueueSize,
  isValidSplitQueueSize,
  splitAvailSize,
  splitDescTableSize,
  splitUsedSize,
} from '../wire/ring-layout.js';

/** Ring format of a virtqueue. */
export type VringFormat = 'split' | 'packed';

/**
 * The plain, unchecked description of one virtqueue. Addresses are guest-physical (the back-end
 * translates SET_VRING_ADDR's QVAs with `GuestMemory.userToGpa` first).
 */
export interface VringConfig {
  /** `split` (virtio §2.7) or `packed` (§2.8, VIRTIO_F_RING_PACKED). */
  readonly format: VringFormat;
  /** Queue size from SET_VRING_NUM. */
  readonly size: number;
  /** Descriptor table (split) or descriptor ring (packed). */
  readonly descAddr: number;
  /** Available ring (split) or driver event suppression area (packed). */
  readonly availAddr: number;
  /** Used ring (split) or device event suppression area (packed). */
  readonly usedAddr: number;
  /** VIRTIO_RING_F_EVENT_IDX negotiated. */
  readonly eventIdx: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated. */
  readonly indirect: boolean;
  /** VIRTIO_F_IN_ORDER negotiated. */
  readonly inOrder: boolean;
  /**
   * Split only: the ring's fields are big-endian, a legacy (pre-VERSION_1) ring on a cross-endian
   * host after SET_VRING_ENDIAN 1 (VU-FEAT-008). Default false: little-endian, as VERSION_1 says.
   */
  readonly bigEndian?: boolean;
  /**
   * Packed only, and only for the `packed-chain-tail-unchecked` fault: follow NEXT without
   * checking that the later slots are available, as DPDK 22.11 does (VU-PK-002). Default false.
   */
  readonly uncheckedChainTail?: boolean;
  /**
   * Restored state (SET_VRING_BASE). Split: next avail index, free-running u16 (default 0).
   * Packed: next avail slot, 0..size-1 (default 0).
   */
  readonly lastAvailIdx?: number;
  /**
   * Split: used index, u16; when absent the device reads `used->idx` from the ring, as vhost
   * back-ends do on start. Packed: next used slot, 0..size-1 (default 0).
   */
  readonly usedIdx?: number;
  /** Packed only: driver (avail) wrap counter to expect (default true, virtio §2.8.1). */
  readonly availWrapCounter?: boolean;
  /** Packed only: device (used) wrap counter (default true). */
  readonly usedWrapCounter?: boolean;
}

/** Why a {@link VringConfig} could not become a queue. */
export class QueueConfigError extends Error {
  override readonly name = 'QueueConfigError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_QUEUE_CONFIG';
  constructor(
    /** Human-readable reason, e.g. `descAddr 0x1008 not aligned to 16`. */
    readonly reason: string,
    /** The offending configuration, as given. */
    readonly config: VringConfig,
  ) {
    super(`bad ${config?.format ?? '?'} vring config: ${reason}`);
  }
}

/** Checked views over the three ring areas of a queue. */
export interface RingAreas {
  /** Descriptor table / ring. */
  readonly desc: DataView;
  /** Split: available ring. Packed: driver event suppression area. */
  readonly avail: DataView;
  /** Split: used ring. Packed: device event suppression area. */
  readonly used: DataView;
}

const isAddr = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function area(mem: GuestMemory, cfg: VringConfig, what: string, gpa: number, len: number, align: number): DataView {
  if (!isAddr(gpa)) throw new QueueConfigError(`${what} ${String(gpa)} is not a valid address`, cfg);
  if (gpa % align !== 0) throw new QueueConfigError(`${what} 0x${gpa.toString(16)} not aligned to ${align}`, cfg);
  let bytes: Uint8Array;
  try {
    // GuestMemory.slice demands the whole range inside one region: a ring split across regions
    // could not be viewed as one array, and QEMU never places one so.
    bytes = mem.slice(gpa, len);
  } catch {
    throw new QueueConfigError(`${what} [0x${gpa.toString(16)}, +${len}) is not inside guest memory`, cfg);
  }
  // SAFETY: a view over guest memory, which the driver writes concurrently; callers read each
  // field once and order their stores as their comments say.
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkU(cfg: VringConfig, name: string, v: number | undefined, max: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= max)) {
    throw new QueueConfigError(`${name} ${String(v)} outside 0..${max}`, cfg);
  }
}

/**
 * Validates `cfg` for `format` and maps its ring areas. Throws {@link QueueConfigError} when the
 * format differs, the size is not valid for the format, an area is misaligned or not wholly
 * inside guest memory, or the restored state is out of range.
 */
export function mapRingAreas(mem: GuestMemory, cfg: VringConfig, format: VringFormat): RingAreas {
  if (cfg === null || typeof cfg !== 'object') throw new QueueConfigError('config is not an object', cfg);
  if (cfg.format !== format) throw new QueueConfigError(`format is ${String(cfg.format)}, expected ${format}`, cfg);
  for (const f of ['eventIdx', 'indirect', 'inOrder'] as const) {
    if (typeof cfg[f] !== 'boolean') throw new QueueConfigError(`${f} is not a boolean`, cfg);
  }
  const n = cfg.size;
  if (format === 'split') {
    if (!isValidSplitQueueSize(n)) throw new QueueConfigError(`size ${String(n)} is not a power of two in 1..32768`, cfg);
    checkU(cfg, 'lastAvailIdx', cfg.lastAvailIdx, 0xffff);
    checkU(cfg, 'usedIdx', cfg.usedIdx, 0xffff);
    return {
      desc: area(mem, cfg, 'descAddr', cfg.descAddr, splitDescTableSize(n), SPLIT_DESC.ALIGN),
      avail: area(mem, cfg, 'availAddr', cfg.availAddr, splitAvailSize(n), SPLIT_AVAIL.ALIGN),
      used: area(mem, cfg, 'usedAddr', cfg.usedAddr, splitUsedSize(n), SPLIT_USED.ALIGN),
    };
  }
  if (!isValidPackedQueueSize(n)) throw new QueueConfigError(`size ${String(n)} outside 1..32768`, cfg);
  checkU(cfg, 'lastAvailIdx', cfg.lastAvailIdx, n - 1);
  checkU(cfg, 'usedIdx', cfg.usedIdx, n - 1);
  for (const f of ['availWrapCounter', 'usedWrapCounter'] as const) {
    if (cfg[f] !== undefined && typeof cfg[f] !== 'boolean') throw new QueueConfigError(`${f} is not a boolean`, cfg);
  }
  return {
    desc: area(mem, cfg, 'descAddr', cfg.descAddr, PACKED_DESC.SIZE * n, PACKED_DESC.ALIGN),
    avail: area(mem, cfg, 'availAddr (driver event area)', cfg.availAddr, PACKED_EVENT.SIZE, PACKED_EVENT.ALIGN),
    used: area(mem, cfg, 'usedAddr (device event area)', cfg.usedAddr, PACKED_EVENT.SIZE, PACKED_EVENT.ALIGN),
  };
}

// A private shared word: a seq-cst read-modify-write on it compiles to a LOCK-prefixed instruction
// on x86-64, which is a full fence, and V8 keeps it ordered with the DataView accesses around it
// (both sit on the effect chain).
const FENCE_WORD = new Int32Array(new SharedArrayBuffer(4));

/**
 * A full memory fence (virtio's `mb()`). x86-64 keeps stores in order and loads in order, but may
 * let a later load pass an earlier store: every "publish an index, then read the peer's
 * suppression field" sequence needs this between the two, or both sides can decide not to notify
 * and a buffer is stranded (VU-EVT-005).
 */
export function storeLoadFence(): void {
  Atomics.add(FENCE_WORD, 0, 0);
}

/** A device or driver method was called out of turn (a bug in the caller, never the peer's). */
export class QueueStateError extends Error {
  override readonly name = 'QueueStateError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_QUEUE_STATE';
}

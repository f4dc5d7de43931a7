/**
 * The device interface of the reference back-end (STYLE §9: transport → protocol roles →
 * device). A device says what it offers (features, queue count, config space) and processes
 * started rings through {@link DeviceQueue}; it never sees header flags, REPLY_ACK, fds or the
 * memory table. The ring engine calls {@link Device.process} for every started ring.
 * @module
 */
import type { DeviceType } from '../wire/index.js';
import type { Chain, Segment } from '../virtqueue/index.js';

/** A started ring as a device sees it (split or packed alike). */
export interface DeviceQueue {
  /** Ring index. */
  readonly index: number;
  /** Queue size. */
  readonly size: number;
  /** A legacy ring whose fields (and net headers) are big-endian (SET_VRING_ENDIAN 1, VU-FEAT-008). */
  readonly bigEndian: boolean;
  /**
   * Whether the ring is enabled (vhost-user.rst "Ring states"). A started but disabled ring is
   * still processed, without side effects (VU-RING-011): a net TX ring returns its buffers
   * unsent, an RX ring is left alone.
   */
  readonly enabled: boolean;
  /** Whether a chain is waiting (fresh read of the ring). */
  hasAvailable(): boolean;
  /**
   * Pops the next chain into `out`, or `undefined` when none is waiting. Bad chains never come
   * out: the queue reports them as violations (and returns a split head with length 0, or stops
   * a packed ring that cannot be parsed past them).
   */
  pop(out: Chain): Chain | undefined;
  /**
   * The packed fast path (PackedQueueDevice.peekFlat): the next chain's only buffer in `out` and
   * its id, when the chain is one descriptor with WRITE = `write`, at least `minLen` bytes, in a
   * cached region, and no hook must see it; else -1 (nothing waiting) or -2 (use {@link pop}).
   * Nothing is consumed until {@link skipFlat}.
   */
  peekFlat(out: Segment, write: boolean, minLen: number): number;
  /** Consumes the chain {@link peekFlat} returned. */
  skipFlat(): void;
  /** {@link pushUsed} for a chain taken by {@link peekFlat}. */
  pushUsedFlat(id: number, len: number): void;
  /** {@link pushRead} for a chain taken by {@link peekFlat}. */
  pushReadFlat(id: number): void;
  /** Returns `chain` with `len` bytes written; visible to the driver after {@link flush}. */
  pushUsed(chain: Chain, len: number): void;
  /**
   * Returns `chain` as only read (len 0, like a sent TX frame). The queue may complete several
   * such chains with one used entry where the negotiated features allow it (IN_ORDER batching);
   * visible to the driver after {@link flush}.
   */
  pushRead(chain: Chain): void;
  /** Publishes pushed elements (one index store), logs them, and signals the call fd if the driver wants it. */
  flush(): void;
  /** Marks `[gpa, gpa + len)` dirty when logging is on; call for every guest write. */
  logWrite(gpa: number, len: number): void;
  /** Whether dirty logging is on (so devices can skip the per-segment calls otherwise). */
  readonly logging: boolean;
}

/** What a device can ask of the back-end while processing. */
export interface DeviceContext {
  /** The started ring `index`, or undefined when it is not started (or not usable). */
  queue(index: number): DeviceQueue | undefined;
  /** Virtio features the front-end acked. */
  readonly features: bigint;
  /** Reports a driver-side violation (CHECKLIST requirement id). */
  violation(rule: string, detail: string, ring?: number): void;
}

/** A device behind the reference back-end. */
export interface Device {
  /** Device type, for request gates (e.g. SEND_RARP is net-only). */
  readonly type: DeviceType;
  /** Virtio feature bits the device offers (device bits and ring features it services). */
  readonly features: bigint;
  /** Largest number of virtqueues the front-end may use. */
  readonly maxQueues: number;
  /** GET_QUEUE_NUM's answer (net: queue pairs, CHECKLIST D7). */
  readonly queueNum: number;
  /** The device config space for the acked `features`. */
  readConfig(features: bigint): Uint8Array;
  /** Writes config space; returns a reason on refusal (VU-CFG-003). `migration` = flags 1. */
  writeConfig(offset: number, data: Uint8Array, migration: boolean): string | undefined;
  /** The device's state outside the rings, for a migration stream (SET_DEVICE_STATE_FD save). */
  saveState?(): Uint8Array;
  /** Restores {@link saveState}'s bytes; returns why they were refused (CHECK_DEVICE_STATE fails then). */
  loadState?(blob: Uint8Array): string | undefined;
  /** Processes what is waiting on `queue`; returns how many chains it handled. */
  process(queue: DeviceQueue, ctx: DeviceContext): number;
  /** Whether `index` is a ring the device drives itself (vs. one fed by another ring, like net RX). */
  drivesQueue(index: number): boolean;
  /** Returns the device to its initial state (RESET_DEVICE, disconnect). */
  reset(): void;
}

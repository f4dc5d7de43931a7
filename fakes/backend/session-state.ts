/**
 * Everything one vhost-user session of the reference back-end knows: negotiated features,
 * owner, memory table, dirty log, inflight area, device status and per-ring state. One object
 * per connection; {@link SessionState.reset} releases every fd and mapping it holds, which is
 * what a disconnect does (VU-SESS-003: a new connection starts with no memory table, no ring
 * state and no fds of the old one).
 *
 * OWNERSHIP: every fd stored here (kick/call/err, log, inflight) belongs to this object and is
 * closed on replacement and on reset. Kick fds may be watched by the ring engine's poll on the
 * thread pool, so they are closed through {@link SessionState.retireFd}, which defers the close
 * until no poll is pending (native rule: never close an fd under a pending async call).
 * @module
 */
import { NativeError, closeFd, eventfdSignal } from '../../native/index.js';
import {
  DeviceStatus, ProtocolFeature, VHOST_F_LOG_ALL, VHOST_USER_F_PROTOCOL_FEATURES, VirtioFeature, hasFeature,
  type payloads,
} from '../wire/index.js';
import type { MappedGuestMemory } from '../memory/index.js';
import type { ActiveQueue } from './active-queue.js';
import type { DirtyLog } from './dirty-log.js';
import type { InflightArea } from './inflight.js';

/** Per-ring state as the front-end set it (vhost-user.rst "Ring states"). */
export interface RingState {
  /** Ring index. */
  readonly index: number;
  /** SET_VRING_NUM. */
  num: number | undefined;
  /** SET_VRING_ADDR, as received (QVAs). */
  addr: payloads.VringAddr | undefined;
  /** SET_VRING_BASE's raw `num` (split: next avail index; packed: §3.3 encoding), if sent. */
  base: number | undefined;
  /** Kick eventfd; undefined with no fd (NOFD: the back-end polls, VU-FD-002). */
  kickFd: number | undefined;
  /** Call eventfd; undefined with no fd (NOFD: no notifications, VU-FD-003). */
  callFd: number | undefined;
  /** Error eventfd. */
  errFd: number | undefined;
  /** SET_VRING_ENABLE's last value (rings begin disabled, VU-RING-001). */
  enabled: boolean;
  /** Started by SET_VRING_KICK; stopped by GET_VRING_BASE (VU-RING-002/003). */
  started: boolean;
  /** The live queue while started and translatable. */
  queue: ActiveQueue | undefined;
  /** Why the started ring cannot run (bad addresses, unparsable packed chain); cleared on reconfiguration. */
  broken: string | undefined;
  /** SET_VRING_ENDIAN said big-endian (num 1); it takes effect only without VERSION_1 (VU-FEAT-008). */
  bigEndian: boolean;
}

/** A violation report: requirement id, detail, ring. */
export interface Violation {
  readonly rule: string;
  readonly detail: string;
  readonly ring?: number;
}

/** Something that happened in the session, for the one-line-per-event log. */
export interface SessionEvent {
  readonly event: string;
  readonly detail?: string;
  readonly [key: string]: unknown;
}

/** Callbacks a session reports through. */
export interface SessionObserver {
  /** A driver-side violation. */
  violation?(v: Violation): void;
  /** A session event (ring started, memory table, error answered …). */
  event?(e: SessionEvent): void;
}

const newRing = (index: number): RingState => ({
  index, num: undefined, addr: undefined, base: undefined, kickFd: undefined, callFd: undefined,
  errFd: undefined, enabled: false, started: false, queue: undefined, broken: undefined, bigEndian: false,
});

/** The state of one session. */
export class SessionState {
  /** Virtio features acked by SET_FEATURES. */
  features = 0n;
  /** Whether SET_FEATURES arrived. */
  featuresSet = false;
  /** Protocol features acked by SET_PROTOCOL_FEATURES. */
  protocolFeatures = 0n;
  /** SET_OWNER seen. */
  owner = false;
  /** Device status (SET_STATUS / GET_STATUS). */
  status = 0;
  /** The memory table, once one arrived. */
  memory: MappedGuestMemory | undefined;
  /** The dirty log (SET_LOG_BASE). */
  log: DirtyLog | undefined;
  /** SET_LOG_FD's eventfd. */
  logFd: number | undefined;
  /**
   * The back-end channel (SET_BACKEND_REQ_FD). The reference device has nothing to send on it
   * (it offers no feature that gates a back-end request); it is kept so the channel stays open
   * as the front-end expects, and faults use it. Survives RESET_DEVICE; closed with the session.
   */
  backendReqFd: number | undefined;
  /** The inflight area (GET/SET_INFLIGHT_FD). */
  inflight: InflightArea | undefined;
  /** The state transfer of SET_DEVICE_STATE_FD, until CHECK_DEVICE_STATE (the load's fd is kept till then). */
  deviceState: { direction: 'save' | 'load'; fd: number | undefined; error: string | undefined } | undefined;
  /** The rings. */
  readonly rings: RingState[];
  /** Violations seen in this session. */
  violationCount = 0;
  /** Features SET_FEATURES must include (e.g. RING_PACKED for `--packed`). */
  requiredFeatures = 0n;
  #fdRetirer: ((fd: number) => void) | undefined;

  constructor(
    /** Features GET_FEATURES offers. */
    readonly offeredFeatures: bigint,
    /** Protocol features GET_PROTOCOL_FEATURES offers. */
    readonly offeredProtocolFeatures: bigint,
    maxQueues: number,
    /** Where violations and events go. */
    readonly observer: SessionObserver = {},
  ) {
    this.rings = Array.from({ length: maxQueues }, (_, i) => newRing(i));
  }

  /** Whether protocol feature `bit` is in force. */
  hasProtocolFeature(bit: number): boolean {
    return hasFeature(this.protocolFeatures, bit);
  }

  /** Whether virtio feature `bit` is acked. */
  hasFeature(bit: number): boolean {
    return hasFeature(this.features, bit);
  }

  /** REPLY_ACK in force: ack-type requests with NEED_REPLY get a u64 answer. */
  get replyAck(): boolean {
    return this.hasProtocolFeature(ProtocolFeature.REPLY_ACK);
  }

  /**
   * Whether ring enable state is governed by SET_VRING_ENABLE: bit 30 acked in SET_FEATURES.
   * Without it every started ring is enabled (VU-FEAT-003, FEAT-009).
   */
  get enableByMessage(): boolean {
    if (!this.featuresSet) return false;
    // Asked by the data path on every burst: a bigint shift allocates, so the answer is kept
    // for the feature set it was computed from (comparing bigints allocates nothing).
    if (this.features !== this.enableFor) {
      this.enableFor = this.features;
      this.enableBit = this.hasFeature(VHOST_USER_F_PROTOCOL_FEATURES);
    }
    return this.enableBit;
  }
  private enableFor = -1n;
  private enableBit = false;

  /** Whether ring `r` is enabled in effect. */
  isEnabled(r: RingState): boolean {
    return this.enableByMessage ? r.enabled : true;
  }

  /** Dirty logging in force: LOG_ALL acked and a log mapped. */
  get logging(): boolean {
    return this.log !== undefined && this.hasFeature(VHOST_F_LOG_ALL);
  }

  /** Packed rings negotiated. */
  /**
   * Whether ring `r`'s fields are big-endian: SET_VRING_ENDIAN 1 on a legacy device (no
   * VERSION_1, which makes every ring little-endian; a packed ring needs VERSION_1).
   */
  ringBigEndian(r: RingState): boolean {
    return r.bigEndian && !this.hasFeature(VirtioFeature.VERSION_1);
  }

  get packed(): boolean {
    return this.hasFeature(VirtioFeature.RING_PACKED);
  }

  /** The ring `index`, or undefined when out of range (VU-RING-013). */
  ring(index: number): RingState | undefined {
    return Number.isInteger(index) && index >= 0 && index < this.rings.length ? this.rings[index] : undefined;
  }

  /** Reports a violation. */
  violation(rule: string, detail: string, ring?: number): void {
    this.violationCount++;
    this.observer.violation?.({ rule, detail, ...(ring === undefined ? {} : { ring }) });
  }

  /**
   * Takes ring `r` out of service after an error the device cannot continue past (a packed ring
   * that no longer parses, ring addresses that do not translate) and tells the front-end, as
   * the specs provide: the ring's error eventfd is signalled (vhost-user.rst SET_VRING_ERR,
   * "to signal that an error occurred on the virtqueue") and the device status gains
   * DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2: the device SHOULD set it when it enters an error
   * state that needs a reset). Reported once; a new SET_VRING_KICK or reset repairs the ring.
   */
  breakRing(r: RingState, rule: string, reason: string): void {
    if (r.broken !== undefined) return;
    r.broken = `${rule}: ${reason}`;
    this.status |= DeviceStatus.DEVICE_NEEDS_RESET;
    if (r.errFd !== undefined) {
      try {
        eventfdSignal(r.errFd, 1n);
      } catch (e) {
        // A front-end may hand over any fd as the err fd; one that does not take the write is its
        // problem, never a crash of ours.
        if (!(e instanceof NativeError)) throw e;
      }
    }
    this.event('ring-broken', { ring: r.index, detail: r.broken });
  }

  /** Reports a session event. */
  event(event: string, fields: Omit<SessionEvent, 'event'> = {}): void {
    this.observer.event?.({ event, ...fields });
  }

  /** Installs who closes kick fds (the ring engine, which may be polling them). */
  setFdRetirer(retire: ((fd: number) => void) | undefined): void {
    this.#fdRetirer = retire;
  }

  /** Closes `fd` now, or as soon as no pending poll watches it. */
  retireFd(fd: number | undefined): void {
    if (fd === undefined) return;
    if (this.#fdRetirer) this.#fdRetirer(fd);
    else closeQuietly(fd);
  }

  /** Stops ring `r` (no more processing) and forgets its live queue. */
  stopRing(r: RingState): void {
    if (r.queue !== undefined) {
      r.queue.flush();
      r.queue.release();
    }
    r.queue = undefined;
    r.started = false;
  }

  /** Resets one ring to its initial state, closing its fds. */
  resetRing(r: RingState): void {
    this.stopRing(r);
    this.retireFd(r.kickFd);
    closeQuietly(r.callFd);
    closeQuietly(r.errFd);
    Object.assign(r, newRing(r.index));
  }

  /** Closes what only the end of the session releases (the back-end channel). */
  close(): void {
    this.reset();
    closeQuietly(this.backendReqFd);
    this.backendReqFd = undefined;
  }

  /** Everything back to the state of a fresh connection; closes every fd and mapping. */
  reset(): void {
    for (const r of this.rings) this.resetRing(r);
    this.memory?.close();
    this.memory = undefined;
    this.log?.close();
    this.log = undefined;
    closeQuietly(this.logFd);
    this.logFd = undefined;
    this.inflight?.close();
    this.inflight = undefined;
    closeQuietly(this.deviceState?.fd);
    this.deviceState = undefined;
    this.features = 0n;
    this.featuresSet = false;
    this.protocolFeatures = 0n;
    this.owner = false;
    this.status = 0;
  }
}

/** Closes an fd we own, ignoring one that is already gone. */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    closeFd(fd);
  } catch {
    // Already closed: nothing to release.
  }
}

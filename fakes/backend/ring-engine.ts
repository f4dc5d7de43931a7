/**
 * The ring engine: runs the device over every started ring of a session, on the event loop.
 *
 * While traffic flows it busy-polls: passes back to back (empty ones too) for up to a
 * millisecond, then `setImmediate`, so control messages (GET_VRING_BASE, SET_MEM_TABLE …), which
 * arrive through the thread pool, are handled between bursts and never race a burst. During busy polling the
 * driver is asked not to kick (used-ring NO_NOTIFY / event suppression), which saves it a
 * syscall per burst. After a short idle spell the engine re-enables kicks, re-checks every ring
 * (a buffer published while kicks were off sent none, VU-EVT-005) and waits on the kick eventfds
 * with a bounded poll; rings without a kick fd (NOFD, VU-FD-002) are polled on that period.
 *
 * fds: kick fds may be inside a pending poll on a pool thread, so closes go through
 * {@link RingEngine.retireFd} and happen once the poll returned (native rule).
 * @module
 */
import { closeFd, eventfdCreate, eventfdRead, eventfdWrite, pollAsync, PollEvent } from '../../native/index.js';
import type { Device, DeviceContext, DeviceQueue } from './device.js';
import type { RingControl } from './ring-control.js';
import type { SessionState } from './session-state.js';

/**
 * How long the engine keeps spinning without work before it waits on kicks (ms). Generous: an
 * idle wait costs the driver a kick per burst and us a thread-pool wake-up (50–100 µs) per
 * kick, and on a loaded machine the driver's pauses (a lost time slice) last milliseconds.
 */
export const SPIN_MS = 20;
/** Longest slice of back-to-back bursts before yielding to the event loop (ms). */
export const SLICE_MS = 1;
// Empty passes between clock reads while spinning (a pass over idle rings is a few loads).
const EMPTY_PASSES = 16;
/** Bound of one idle wait (ms); also the polling period of rings without a kick fd. */
export const IDLE_WAIT_MS = 10;

/** Runs a device over a session's rings. */
export class RingEngine {
  private stopped = true;
  private polling: Promise<unknown> | undefined;
  private readonly retired: number[] = [];
  private readonly wakeFd: number;
  private busy = false;
  private lastWork = 0;
  private readonly ctx: DeviceContext;
  private scheduled = false;

  constructor(
    private readonly state: SessionState,
    private readonly device: Device,
    private readonly rings: RingControl,
  ) {
    this.wakeFd = eventfdCreate();
    const s = state;
    this.ctx = {
      queue: (i) => {
        const r = s.rings[i];
        return r === undefined ? undefined : this.rings.ensure(r);
      },
      get features() {
        return s.features;
      },
      violation: (rule, detail, ring) => s.violation(rule, detail, ring),
    };
  }

  /** Starts the loop. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastWork = performance.now();
    this.schedule();
  }

  /** A ring became runnable: leave the idle wait now. */
  wake(): void {
    if (this.stopped) return;
    this.lastWork = performance.now();
    if (this.polling !== undefined) {
      try {
        eventfdWrite(this.wakeFd);
      } catch {
        // Counter already non-zero: the poll is being woken anyway.
      }
    } else {
      this.schedule();
    }
  }

  /** Closes `fd` now, or after the pending poll returned. */
  retireFd(fd: number): void {
    if (this.polling !== undefined) this.retired.push(fd);
    else closeQuietly(fd);
  }

  /** Stops the loop and waits for a pending poll; closes retired fds and the wake fd. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.polling !== undefined) {
      try {
        eventfdWrite(this.wakeFd);
      } catch {
        // Already signalled.
      }
      await this.polling.catch(() => undefined);
    }
    for (const fd of this.retired.splice(0)) closeQuietly(fd);
    closeQuietly(this.wakeFd);
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.tick);
  }

  /** Processes every started ring the device drives once; returns chains handled. */
  runOnce(): number {
    let work = 0;
    const rings = this.state.rings;
    for (let i = 0; i < rings.length; i++) {
      const r = rings[i];
      if (!r.started || r.broken !== undefined || !this.device.drivesQueue(i)) continue;
      const q = r.queue ?? this.rings.ensure(r);
      if (q !== undefined) work += this.device.process(q, this.ctx);
    }
    return work;
  }

  private readonly tick = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    const t0 = performance.now();
    let work = 0;
    let now = t0;
    // Poll within the slice even when a pass finds nothing: in a request/response loop the next
    // chain usually lands microseconds later, and leaving the tick costs a trip through the event
    // loop before it is seen. Control messages still get a turn every SLICE_MS.
    for (let empty = 0; ; ) {
      const w = this.runOnce();
      // An empty pass costs less than reading the clock: look at it every EMPTY_PASSES of them.
      if (w === 0 && ++empty % EMPTY_PASSES !== 0) continue;
      now = performance.now();
      if (w > 0) {
        if (work === 0 && !this.busy) {
          this.setNotifications(false);
          this.busy = true;
        }
        work += w;
        this.lastWork = now;
      } else if (now - this.lastWork >= SPIN_MS) break;
      if (now - t0 >= SLICE_MS) break;
    }
    if (work > 0) {
      this.schedule();
      return;
    }
    if (now - this.lastWork < SPIN_MS) {
      this.schedule();
      return;
    }
    void this.idle();
  };

  private liveQueues(): DeviceQueue[] {
    const out: DeviceQueue[] = [];
    for (const r of this.state.rings) {
      if (r.started && r.broken === undefined && r.queue !== undefined) out.push(r.queue);
    }
    return out;
  }

  private setNotifications(on: boolean): boolean {
    let waiting = false;
    for (const r of this.state.rings) {
      const q = r.queue;
      if (q !== undefined && r.started && r.broken === undefined && q.setNotification(on) && this.device.drivesQueue(r.index)) waiting = true;
    }
    return waiting;
  }

  private async idle(): Promise<void> {
    this.busy = false;
    // Kicks back on, then look again: a chain published while they were off sent no kick.
    if (this.setNotifications(true)) {
      this.lastWork = performance.now();
      this.schedule();
      return;
    }
    const fds = [this.wakeFd];
    let noKick = false;
    for (const r of this.state.rings) {
      if (!r.started) continue;
      if (r.kickFd !== undefined) fds.push(r.kickFd);
      else noKick = true;
    }
    // Drain stale kick counts so the poll below waits for new ones.
    for (const fd of fds) drain(fd);
    if (this.liveQueues().some((q) => this.device.drivesQueue(q.index) && q.hasAvailable())) {
      this.lastWork = performance.now();
      this.schedule();
      return;
    }
    const p = pollAsync(fds.map((fd) => ({ fd, events: PollEvent.IN })), noKick ? 1 : IDLE_WAIT_MS);
    this.polling = p;
    try {
      await p;
    } catch {
      // A bad fd in the set (closed under us): just go round again.
    } finally {
      this.polling = undefined;
    }
    for (const fd of this.retired.splice(0)) closeQuietly(fd);
    if (this.stopped) return;
    drain(this.wakeFd);
    this.schedule();
  }
}

function drain(fd: number): void {
  try {
    eventfdRead(fd);
  } catch {
    // Not an eventfd (a front-end may pass anything) or closed: nothing to drain.
  }
}

function closeQuietly(fd: number): void {
  try {
    closeFd(fd);
  } catch {
    // Already closed.
  }
}

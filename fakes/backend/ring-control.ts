/**
 * Starting, stopping and re-translating rings on behalf of the message handlers
 * (vhost-user.rst "Ring states"). A ring starts on SET_VRING_KICK (T1 text, VU-RING-002) and
 * stops on GET_VRING_BASE; a new memory table or SET_VRING_ADDR on a running ring rebuilds its
 * live queue from the new translation at the same position (VU-MEM-006, VU-RING-015).
 * @module
 */
import { PACKED_WRAP_BIT } from '../wire/index.js';
import { ActiveQueue } from './active-queue.js';
import type { DataPathHooks } from './hooks.js';
import type { RingState, SessionState } from './session-state.js';

/** Ring lifecycle operations shared by the handlers and the ring engine. */
export class RingControl {
  constructor(
    private readonly state: SessionState,
    private readonly hooks: DataPathHooks | undefined,
    /** Tells the ring engine that a ring became runnable. */
    private readonly wake: () => void = () => undefined,
  ) {}

  /** Marks `r` started and builds its live queue if everything it needs has arrived. */
  start(r: RingState): void {
    r.started = true;
    r.broken = undefined;
    this.ensure(r);
    this.wake();
  }

  /**
   * The live queue of a started ring, built on demand (the memory table may arrive after the
   * kick). A ring whose addresses do not translate is marked broken and reported once.
   */
  ensure(r: RingState): ActiveQueue | undefined {
    if (!r.started || r.broken !== undefined) return undefined;
    if (r.queue !== undefined) return r.queue;
    if (this.state.memory === undefined || r.addr === undefined || r.num === undefined) return undefined;
    try {
      r.queue = ActiveQueue.build(this.state, r, this.hooks);
      this.state.event('ring-started', { ring: r.index, detail: `size ${r.num}, ${this.state.packed ? 'packed' : 'split'}` });
    } catch (e) {
      const rule = (e as { rule?: string }).rule ?? 'VU-MEM-008';
      const reason = (e as Error).message;
      this.state.violation(rule, `ring ${r.index} cannot start: ${reason}`, r.index);
      this.hooks?.onBadChain?.(r.index, rule, reason, this.state);
      this.state.breakRing(r, rule, reason);
    }
    return r.queue;
  }

  /** An in-band kick (VRING_KICK): the engine looks at the rings again. */
  kick(): void {
    this.wake();
  }

  /** Stops `r` and returns its base for GET_VRING_BASE (the last one set when it never ran). */
  stop(r: RingState): number {
    const q = r.queue;
    const base = q !== undefined ? q.base : r.base ?? (this.state.packed ? PACKED_WRAP_BIT : 0);
    this.state.stopRing(r);
    r.base = base;
    r.broken = undefined;
    return base;
  }

  /** Rebuilds the live queue of `r` at its current position (new addresses or memory). */
  rebuild(r: RingState): void {
    const q = r.queue;
    if (q !== undefined) {
      r.base = q.base;
      q.release();
      r.queue = undefined;
    }
    r.broken = undefined;
    if (r.started) this.ensure(r);
    this.wake();
  }

  /** Rebuilds every started ring (after SET_MEM_TABLE / ADD_MEM_REG / REM_MEM_REG). */
  remapAll(): void {
    for (const r of this.state.rings) if (r.started) this.rebuild(r);
  }

  /** Stops every ring (RESET_OWNER, SET_STATUS 0). */
  stopAll(): void {
    for (const r of this.state.rings) if (r.started) this.stop(r);
  }
}

/**
 * `--strict`: the back-end checks the front-end (driver-side rules of CHECKLIST VU-DP, VU-EVT,
 * VU-PK, and message order) and reports each broken rule as a session violation, which the CLI
 * writes to `--violations FILE`. Built from the hook API like the faults.
 *
 * What is checked here, on top of what the engine always reports (bad chains VU-DP-004/005/013/
 * 014/016/017, avail index jumps VU-DP-003, packed availability VU-PK-002/005, ring addresses
 * outside memory VU-MEM-008, short net headers VU-DP-011):
 * - message order (see message-order.ts);
 * - every request the dispatcher refused with a requirement id (the front-end broke that rule);
 * - a head made available twice while the device owns it (VU-DP-019);
 * - opt-in (`checksums`): a readable buffer changed while the device owned it (VU-DP-021);
 * - the driver's event-suppression field (see event-suppression.ts): split `avail->flags` other
 *   than 0/1 without EVENT_IDX (VU-EVT-001) or non-zero with it (VU-EVT-002); packed driver
 *   event flags 3, or 2 (DESC) without EVENT_IDX (VU-PK-009). Read once per published burst
 *   (`afterFlush`), never per descriptor; each distinct problem is reported once per ring start.
 * @module
 */
import type { BackendHooks } from '../hooks.js';
import type { SessionState } from '../session-state.js';
import { perSession } from '../faults/support.js';
import { DriverFlagsWatch } from './event-suppression.js';
import { checkMessageOrder } from './message-order.js';
import { RingOwnership } from './ownership.js';

/** Options of {@link strictHooks}. */
export interface StrictOptions {
  /** Checksum readable buffers at pop and completion (costly). */
  readonly checksums?: boolean;
}

/** The strict checker's hooks. */
export function strictHooks(options: StrictOptions = {}): BackendHooks {
  const checksums = options.checksums ?? false;
  const rings = perSession(() => new Map<number, RingOwnership>());
  const ownership = (state: SessionState, ring: number): RingOwnership => {
    const m = rings(state);
    let o = m.get(ring);
    if (o === undefined) m.set(ring, (o = new RingOwnership(checksums)));
    return o;
  };
  // Per ring: the driver flags watch of its current start (undefined when the area did not translate).
  const flagWatches = perSession(() => new Map<number, DriverFlagsWatch | undefined>());
  return {
    pre(message, state) {
      for (const v of checkMessageOrder(message, state)) state.violation(v.rule, v.detail, v.ring);
      return undefined;
    },
    post(_message, result, state) {
      if (result.kind === 'error' && result.rule !== undefined) state.violation(result.rule, `refused: ${result.reason}`);
      return undefined;
    },
    dataPath: {
      onRingStart(at, state) {
        ownership(state, at.ring).clear();
        flagWatches(state).set(at.ring, DriverFlagsWatch.atRingStart(at, state));
      },
      onChain(ring, chain, state) {
        const problem = ownership(state, ring).take(chain);
        if (problem !== undefined) state.violation('VU-DP-019', problem, ring);
      },
      beforeUsed(e, state) {
        const problem = ownership(state, e.ring).give(e.id, e.chain);
        if (problem !== undefined) state.violation('VU-DP-021', problem, e.ring);
      },
      afterFlush(ring, state) {
        ownership(state, ring).published();
        const bad = flagWatches(state).get(ring)?.check(state.memory);
        if (bad !== undefined) state.violation(bad.rule, bad.detail, ring);
      },
    },
  };
}

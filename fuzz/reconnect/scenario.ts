/**
 * Reconnect scenarios (CHECKLIST §5.9 VU-RECON-*, VU-RING-005, VU-SESS-003/006): a few cycles of
 * "traffic, then a disconnect at some point, then reconnect and resume". Points: with descriptors
 * in flight, with the rings idle, or inside the next start sequence (mid-message, inside
 * SET_MEM_TABLE, between SET_VRING_KICK and SET_VRING_ENABLE). Actions: the front-end closes,
 * stops the rings first (GET_VRING_BASE), goes away and listens again (client mode), or the
 * back-end is killed and restarted. Plain data, shrinking towards fewer, simpler cycles.
 * @module
 */
import fc from 'fast-check';
import { checkInt } from '../arbitraries/_internals/numbers.js';

/** Where the disconnect falls. */
export type ReconnectPoint =
  | { readonly kind: 'in-flight' }
  | { readonly kind: 'idle' }
  /** Inside the next start sequence: message `message`, after `fraction` of its bytes. */
  | { readonly kind: 'in-start'; readonly message: number; readonly fraction: number };

/** How the connection goes away. */
export type ReconnectAction = 'close' | 'graceful' | 'kill-backend' | 'relisten';

/** One cycle. */
export interface ReconnectCycle {
  /** Frames sent before the disconnect. */
  readonly frames: number;
  readonly point: ReconnectPoint;
  readonly action: ReconnectAction;
  /** Pause while disconnected (ms). */
  readonly pauseMs: number;
}

/** A scenario. */
export interface ReconnectScenario {
  readonly cycles: readonly ReconnectCycle[];
  /** Frames sent after the last resume; all must arrive. */
  readonly finalFrames: number;
}

/** Options of {@link reconnectScenario}. */
export interface ReconnectScenarioConstraints {
  /** Most cycles (default 3). */
  readonly maxCycles?: number;
  /** Actions allowed (default all but `relisten`, which needs a client-mode peer). */
  readonly actions?: readonly ReconnectAction[];
  /** Messages in the start sequence a cut may fall in (default 20). */
  readonly startMessages?: number;
}

/** A reconnect scenario. */
export function reconnectScenario(c: ReconnectScenarioConstraints = {}): fc.Arbitrary<ReconnectScenario> {
  const maxCycles = c.maxCycles ?? 3;
  checkInt('maxCycles', maxCycles, 1, 32);
  const actions = c.actions ?? ['close', 'graceful', 'kill-backend'];
  if (actions.length === 0) throw new RangeError('actions must name at least one action');
  const startMessages = c.startMessages ?? 20;
  checkInt('startMessages', startMessages, 1, 1000);
  const point: fc.Arbitrary<ReconnectPoint> = fc.oneof(
    fc.constant({ kind: 'in-flight' as const }),
    fc.constant({ kind: 'idle' as const }),
    fc.record({ kind: fc.constant('in-start' as const), message: fc.nat(startMessages - 1), fraction: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })) }),
  );
  const cycle = fc.record({ frames: fc.integer({ min: 0, max: 48 }), point, action: fc.constantFrom(...actions), pauseMs: fc.integer({ min: 0, max: 50 }) });
  return fc.record({ cycles: fc.array(cycle, { minLength: 1, maxLength: maxCycles }), finalFrames: fc.integer({ min: 8, max: 48 }) });
}

/** Short human form of a cycle, e.g. `12 frames, in-flight, kill-backend`. */
export function describeCycle(c: ReconnectCycle): string {
  const p = c.point.kind === 'in-start' ? `inside start message ${c.point.message} at ${c.point.fraction.toFixed(2)}` : c.point.kind;
  return `${c.frames} frames, ${p}, ${c.action}${c.pauseMs ? `, pause ${c.pauseMs} ms` : ''}`;
}

/**
 * Small helpers the fault files share: which frames are REPLY_ACK acks, and per-session state for
 * hooks that outlive one connection.
 * @module
 */
import { Direction, requestSpec, type RawMessage } from '../../wire/index.js';
import type { SessionState } from '../session-state.js';

/** Whether the reply to `request` is a REPLY_ACK u64 (ack-type or unknown request). */
export function isAckReply(request: RawMessage): boolean {
  const spec = requestSpec(request.request, Direction.FRONTEND_TO_BACKEND);
  return spec === undefined || spec.reply === 'ack';
}

/** Per-session values: hooks are shared by every session of a back-end, their state is not. */
export function perSession<T>(init: () => T): (state: SessionState) => T {
  const map = new WeakMap<SessionState, T>();
  return (state) => {
    let v = map.get(state);
    if (v === undefined) {
      v = init();
      map.set(state, v);
    }
    return v;
  };
}

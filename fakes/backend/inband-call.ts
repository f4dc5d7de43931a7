/**
 * In-band call notifications (INBAND_NOTIFICATIONS, VU-INB-002): a ring with no call fd reports
 * completions with BACKEND_VRING_CALL on the back-end channel. Sent without NEED_REPLY and
 * without waiting: the data path must not block on a front-end that is slow to read its channel.
 * A channel that is full or gone drops the call (the front-end then learns of completions only
 * by looking at the ring), reported once per session.
 * @module
 */
import { sendMsg } from '../../native/index.js';
import { BackendRequest, ProtocolFeature, REQUEST_FLAGS, encodeRaw, payloads } from '../wire/index.js';
import type { SessionState } from './session-state.js';

const dropped = new WeakSet<SessionState>();

/** Whether completions of a ring without a call fd go in-band in this session. */
export const inbandCalls = (state: SessionState): boolean =>
  state.backendReqFd !== undefined && state.hasProtocolFeature(ProtocolFeature.INBAND_NOTIFICATIONS);

/** Sends BACKEND_VRING_CALL for `ring` (call only when {@link inbandCalls}). */
export function sendInbandCall(state: SessionState, ring: number): void {
  const body = payloads.vringState.encode({ index: ring, num: 0 });
  try {
    sendMsg(state.backendReqFd!, encodeRaw({ request: BackendRequest.BACKEND_VRING_CALL, flags: REQUEST_FLAGS, size: body.length, body, fds: [] }), [], 0);
  } catch (e) {
    if (dropped.has(state)) return;
    dropped.add(state);
    state.event('inband-call-dropped', { ring, detail: `BACKEND_VRING_CALL not sent: ${(e as Error).message}` });
  }
}

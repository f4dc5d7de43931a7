/**
 * Small helpers the fault files share: which frames are REPLY_ACK acks, and per-session state for
 * hooks that outlive one connection.
 * @module
 */
import { sendMsg } from '../../../native/index.js';
import { Direction, FrontendRequest, payloads, requestSpec, u64, type RawMessage } from '../../wire/index.js';
import { ok, reply, type HandlerResult } from '../result.js';
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

/**
 * For faults that pretend to offer protocol features the reference does not: adds `bits` to
 * GET_PROTOCOL_FEATURES' answer and lets SET_PROTOCOL_FEATURES ack them (only a refusal caused
 * by exactly those bits is turned round). A `post` hook result, or undefined for other messages.
 */
export function pretendOffer(bits: bigint, message: RawMessage, result: HandlerResult, state: SessionState): HandlerResult | undefined {
  if (message.request === FrontendRequest.GET_PROTOCOL_FEATURES) {
    return result.kind === 'reply' ? reply(u64.encode(payloads.u64.decode(result.body) | bits)) : undefined;
  }
  if (message.request === FrontendRequest.SET_PROTOCOL_FEATURES && result.kind === 'error') {
    const value = payloads.u64.decode(message.body);
    const extra = value & ~state.offeredProtocolFeatures;
    if (extra === 0n || (extra & ~bits) !== 0n) return undefined;
    state.protocolFeatures = value;
    return ok();
  }
  return undefined;
}

/**
 * Sends one encoded back-end request on the session's back-end channel, if it has one. A closed
 * channel is ignored: the front-end left, so nobody is listening for the misbehaviour.
 */
export function sendOnBackendChannel(state: SessionState, frame: Uint8Array): void {
  if (state.backendReqFd === undefined) return;
  try {
    sendMsg(state.backendReqFd, frame, [], 1000);
  } catch {
    // The front-end closed its end.
  }
}

/**
 * Fault `nack-everything`: every REPLY_ACK ack says failure (1), even when the request
 * succeeded (VU-PF-003: 0 on success).
 * @module
 */
import { payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';
import { isAckReply } from './support.js';

const FAILURE = payloads.u64.encode(1n);

/** The fault. */
export const nackEverything: FaultDefinition = {
  name: 'nack-everything',
  summary: 'answers every REPLY_ACK with 1 (failure), successful requests included',
  violates: ['VU-PF-003'],
  caughtBy: [
    // Every case whose session negotiates REPLY_ACK (as QEMU does) and sends NEED_REPLY.
    'session/owner/', 'session/reconnect/', 'session/start/valid-sequence-keeps-connection', 'features/',
    // SET_BACKEND_REQ_FD with NEED_REPLY (BACKEND_REQ is offered).
    'session/start/queries-before-set-owner', 'protocol-features/backend-req/',
    'protocol-features/offered/', 'protocol-features/gating/', 'protocol-features/reply-ack/', 'framing/need-reply/',
    'framing/stream/', 'framing/size/truncated-payload/', 'framing/unknown-request/', 'framing/fds/', 'framing/error/', 'backend/',
  ],
  // Pervasive: a run of the whole suite would wait out a time-out per case, so the self-test runs
  // the targeted cases plus three that never send NEED_REPLY (they must still pass).
  selfTestOnly: [
    'protocol-features/reply-ack/success-acked-zero', 'protocol-features/reply-ack/set-protocol-features-acked',
    'framing/reply-header/', 'session/start/queries-before-set-owner', 'protocol-features/mq/offered',
  ],
  create: () => ({
    reply: (frame, request) => (isAckReply(request) ? { ...frame, body: FAILURE, size: FAILURE.byteLength } : undefined),
  }),
};

/**
 * Fault `drop-reply-ack`: never sends the REPLY_ACK u64 a front-end asked for with NEED_REPLY,
 * so it waits for an answer that never comes (VU-PF-003).
 * @module
 */
import type { FaultDefinition } from './fault.js';
import { isAckReply } from './support.js';

/** The fault. */
export const dropReplyAck: FaultDefinition = {
  name: 'drop-reply-ack',
  summary: 'never sends the REPLY_ACK reply (front-ends asking NEED_REPLY wait forever)',
  violates: ['VU-PF-003', 'VU-PF-005'],
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
    reply: (_frame, request) => (isAckReply(request) ? null : undefined),
  }),
};

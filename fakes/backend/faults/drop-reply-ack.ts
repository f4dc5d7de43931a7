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
  caughtBy: ['protocol-features/reply-ack/'],
  create: () => ({
    reply: (_frame, request) => (isAckReply(request) ? null : undefined),
  }),
};

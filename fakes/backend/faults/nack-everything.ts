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
  caughtBy: ['protocol-features/reply-ack/success-acked-zero', 'protocol-features/reply-ack/set-protocol-features-acked'],
  create: () => ({
    reply: (frame, request) => (isAckReply(request) ? { ...frame, body: FAILURE, size: FAILURE.byteLength } : undefined),
  }),
};

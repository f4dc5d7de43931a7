/**
 * Fault `vring-endian-ignored`: the back-end offers CROSS_ENDIAN and acks SET_VRING_ENDIAN 1, but
 * keeps reading and writing the ring little-endian, as a back-end that treats the message as a
 * no-op would (VU-FEAT-008). A legacy big-endian guest's `avail->idx` 1 then reads as 256.
 * @module
 */
import { FrontendRequest, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const vringEndianIgnored: FaultDefinition = {
  name: 'vring-endian-ignored',
  summary: 'acks SET_VRING_ENDIAN 1 and keeps its rings little-endian',
  violates: ['VU-FEAT-008'],
  caughtBy: ['backend/ring-states/legacy-big-endian-ring'],
  create: () => ({
    post(message, result, state) {
      if (message.request !== FrontendRequest.SET_VRING_ENDIAN || result.kind !== 'ok') return undefined;
      // The handler recorded the byte order; forget it, keep the ack.
      const ring = state.ring(payloads.vringState.decode(message.body).index);
      if (ring !== undefined) ring.bigEndian = false;
      return undefined;
    },
  }),
};

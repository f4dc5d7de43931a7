/**
 * Fault `inband-unserviced`: the back-end offers and acks INBAND_NOTIFICATIONS but does not act
 * on it: VRING_KICK is refused as if the feature were off, and rings without a call fd get no
 * BACKEND_VRING_CALL (VU-INB-001, VU-INB-002, and the offer itself, VU-FEAT-007's protocol twin).
 * @module
 */
import { FrontendRequest, ProtocolFeature, featureMask } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

const INBAND = featureMask(ProtocolFeature.INBAND_NOTIFICATIONS);

/** The fault. */
export const inbandUnserviced: FaultDefinition = {
  name: 'inband-unserviced',
  summary: 'acks INBAND_NOTIFICATIONS, then refuses VRING_KICK and never sends BACKEND_VRING_CALL',
  violates: ['VU-INB-001', 'VU-INB-002'],
  caughtBy: ['backend/inband/'],
  create: () => ({
    post(message, result, state) {
      // The ack succeeds; the session then behaves as if the bit had not been acked.
      if (message.request === FrontendRequest.SET_PROTOCOL_FEATURES && result.kind !== 'error') state.protocolFeatures &= ~INBAND;
      return undefined;
    },
  }),
};

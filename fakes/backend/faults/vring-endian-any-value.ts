/**
 * Fault `vring-endian-any-value`: the back-end offers CROSS_ENDIAN and acks SET_VRING_ENDIAN
 * whatever num holds, so a value that is neither little (0) nor big (1) goes unnoticed and the
 * ring's byte order is undefined (VU-RING-021). The reference device has no legacy big-endian
 * data path; the fault only answers the message, which is all the case looks at.
 * @module
 */
import { FrontendRequest, ProtocolFeature, featureMask } from '../../wire/index.js';
import { ok } from '../result.js';
import type { FaultDefinition } from './fault.js';
import { pretendOffer } from './support.js';

const CROSS_ENDIAN = featureMask(ProtocolFeature.CROSS_ENDIAN);

/** The fault. */
export const vringEndianAnyValue: FaultDefinition = {
  name: 'vring-endian-any-value',
  summary: 'offers CROSS_ENDIAN and acks SET_VRING_ENDIAN with any num, 2 included',
  violates: ['VU-RING-021'],
  caughtBy: ['backend/ring-states/vring-endian-values'],
  create: () => ({
    post(message, result, state) {
      switch (message.request) {
        case FrontendRequest.SET_VRING_ENDIAN:
          return state.hasProtocolFeature(ProtocolFeature.CROSS_ENDIAN) ? ok() : undefined;
        default:
          return pretendOffer(CROSS_ENDIAN, message, result, state);
      }
    },
  }),
};

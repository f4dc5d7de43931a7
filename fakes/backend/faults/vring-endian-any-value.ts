/**
 * Fault `vring-endian-any-value`: the back-end acks SET_VRING_ENDIAN whatever num holds, so a
 * value that is neither little (0) nor big (1) goes unnoticed and the ring's byte order is
 * undefined (VU-RING-021). Valid values still take effect (the handler ran first).
 * @module
 */
import { FrontendRequest, ProtocolFeature } from '../../wire/index.js';
import { ok } from '../result.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const vringEndianAnyValue: FaultDefinition = {
  name: 'vring-endian-any-value',
  summary: 'acks SET_VRING_ENDIAN with any num, 2 included',
  violates: ['VU-RING-021'],
  caughtBy: ['backend/ring-states/vring-endian-values'],
  create: () => ({
    post(message, _result, state) {
      if (message.request !== FrontendRequest.SET_VRING_ENDIAN) return undefined;
      return state.hasProtocolFeature(ProtocolFeature.CROSS_ENDIAN) ? ok() : undefined;
    },
  }),
};

/**
 * Fault `ack-unoffered-features`: SET_FEATURES with bits GET_FEATURES did not offer succeeds
 * (ack 0) and the bits are taken as negotiated, instead of being refused (VU-FEAT-006).
 * @module
 */
import { FrontendRequest, payloads } from '../../wire/index.js';
import { ok } from '../result.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const ackUnofferedFeatures: FaultDefinition = {
  name: 'ack-unoffered-features',
  summary: 'accepts SET_FEATURES bits that GET_FEATURES did not offer',
  violates: ['VU-FEAT-006'],
  caughtBy: ['features/set-features/unoffered-bit-rejected'],
  create: () => ({
    post(message, result, state) {
      // Only the refusal for unoffered bits is turned round; other refusals stay.
      if (message.request !== FrontendRequest.SET_FEATURES || result.kind !== 'error' || result.rule !== 'VU-FEAT-006') return undefined;
      state.features = payloads.u64.decode(message.body);
      state.featuresSet = true;
      return ok();
    },
  }),
};

/**
 * Fault `shared-object-any-uuid`: the back-end offers SHARED_OBJECT and answers GET_SHARED_OBJECT
 * for any UUID with an fd (a fresh memfd standing in for a dma-buf), as a lookup that falls back
 * to "the last object" would, instead of attaching none for a UUID nobody exported (VU-SHOBJ-001).
 * @module
 */
import { memfdCreate } from '../../../native/index.js';
import { FrontendRequest, ProtocolFeature, featureMask, hasFeature } from '../../wire/index.js';
import { reply } from '../result.js';
import type { FaultDefinition } from './fault.js';
import { pretendOffer } from './support.js';

const SHARED_OBJECT = featureMask(ProtocolFeature.SHARED_OBJECT);

/** The fault. */
export const sharedObjectAnyUuid: FaultDefinition = {
  name: 'shared-object-any-uuid',
  summary: 'offers SHARED_OBJECT and answers GET_SHARED_OBJECT for any UUID with an fd',
  violates: ['VU-SHOBJ-001'],
  caughtBy: ['protocol-features/shared-object/unknown-uuid-has-no-fd'],
  create: () => ({
    post(message, result, state) {
      switch (message.request) {
        case FrontendRequest.GET_SHARED_OBJECT:
          if (!hasFeature(state.protocolFeatures, ProtocolFeature.SHARED_OBJECT)) return undefined;
          // OWNERSHIP: the dispatcher closes reply fds after sending them.
          return reply(new Uint8Array(0), [memfdCreate('vhostlab-fake-dmabuf', 4096)]);
        default:
          return pretendOffer(SHARED_OBJECT, message, result, state);
      }
    },
  }),
};

/**
 * Fault `shmem-at-bit-21`: the back-end numbers SHMEM as protocol bit 21, as rust-vmm `vhost`
 * did for a while (CHECKLIST D1), where QEMU's text has 21 = GPA_ADDRESSES and 22 = SHMEM. It
 * offers bit 21, accepts it in SET_PROTOCOL_FEATURES, and with it acked answers GET_SHMEM_CONFIG
 * (one region of 2 MiB) though SHMEM was never negotiated (VU-PF-009).
 * @module
 */
import { FrontendRequest, ProtocolFeature, featureMask, hasFeature, payloads } from '../../wire/index.js';
import { reply } from '../result.js';
import type { FaultDefinition } from './fault.js';
import { pretendOffer } from './support.js';

const BIT_21 = featureMask(ProtocolFeature.GPA_ADDRESSES);
const REGION_SIZE = 2n << 20n;

/** The fault. */
export const shmemAtBit21: FaultDefinition = {
  name: 'shmem-at-bit-21',
  summary: 'takes protocol bit 21 for SHMEM: offers it and answers GET_SHMEM_CONFIG when it is acked',
  violates: ['VU-PF-009'],
  caughtBy: ['protocol-features/numbering/bit-21-does-not-enable-shmem'],
  create: () => ({
    post(message, result, state) {
      switch (message.request) {
        case FrontendRequest.GET_SHMEM_CONFIG:
          if (!hasFeature(state.protocolFeatures, ProtocolFeature.GPA_ADDRESSES)) return undefined;
          return reply(payloads.shmemConfig.encode({ nregions: 1, memorySizes: [REGION_SIZE] }));
        default:
          return pretendOffer(BIT_21, message, result, state);
      }
    },
  }),
};

/**
 * Fault `shmem-at-bit-21`: the back-end numbers SHMEM as protocol bit 21, as rust-vmm `vhost`
 * did for a while (CHECKLIST D1), where QEMU's text has 21 = GPA_ADDRESSES and 22 = SHMEM. It
 * offers bit 21, accepts it in SET_PROTOCOL_FEATURES, and with it acked answers GET_SHMEM_CONFIG
 * (one region of 2 MiB) though SHMEM was never negotiated (VU-PF-009).
 * @module
 */
import { FrontendRequest, ProtocolFeature, featureMask, hasFeature, payloads, u64 } from '../../wire/index.js';
import { ok, reply } from '../result.js';
import type { FaultDefinition } from './fault.js';

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
        case FrontendRequest.GET_PROTOCOL_FEATURES:
          return result.kind === 'reply' ? reply(u64.encode(payloads.u64.decode(result.body) | BIT_21)) : undefined;
        case FrontendRequest.SET_PROTOCOL_FEATURES: {
          // The real refusal names every unoffered bit; only bit 21 alone is turned round.
          const value = payloads.u64.decode(message.body);
          if (result.kind !== 'error' || (value & ~state.offeredProtocolFeatures) !== BIT_21) return undefined;
          state.protocolFeatures = value;
          return ok();
        }
        case FrontendRequest.GET_SHMEM_CONFIG:
          if (!hasFeature(state.protocolFeatures, ProtocolFeature.GPA_ADDRESSES)) return undefined;
          return reply(payloads.shmemConfig.encode({ nregions: 1, memorySizes: [REGION_SIZE] }));
        default:
          return undefined;
      }
    },
  }),
};

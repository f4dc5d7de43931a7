/**
 * Fault `ignore-inflight`: INFLIGHT_SHMFD is offered and SET_INFLIGHT_FD acked, but the area is
 * dropped at once: no head is recorded and nothing is resubmitted after a restart, so a request
 * the back-end fetched before it died is never completed, or completed out of the saved order
 * (VU-RECON-002, VU-RECON-003, VU-RECON-004).
 * @module
 */
import { FrontendRequest } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const ignoreInflight: FaultDefinition = {
  name: 'ignore-inflight',
  summary: 'acks SET_INFLIGHT_FD but never records or resubmits anything',
  violates: ['VU-RECON-002', 'VU-RECON-003', 'VU-RECON-004'],
  caughtBy: [
    'backend/reconnect/inflight-records-fetched-heads', 'backend/reconnect/inflight-resubmits-after-restart',
    'backend/reconnect/inflight-repairs-unrecorded-batch',
  ],
  // backend/reconnect/inflight-new-area-discards-stale-state passes: a back-end that keeps no
  // state has none to discard.
  create: () => ({
    post(message, result, state) {
      if (message.request !== FrontendRequest.SET_INFLIGHT_FD || result.kind !== 'ok') return undefined;
      state.inflight?.close();
      state.inflight = undefined;
      return undefined;
    },
  }),
};

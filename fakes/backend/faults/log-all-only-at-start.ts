/**
 * Fault `log-all-only-at-start`: a SET_FEATURES that adds VHOST_F_LOG_ALL while a ring runs is
 * acked but not applied, so dirty logging never starts for a migration begun under traffic
 * (VU-FEAT-005, VU-MIG-003) — the back-ends that read their features only when the device starts.
 * @module
 */
import { FrontendRequest, VHOST_F_LOG_ALL, featureMask, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

const LOG_ALL = featureMask(VHOST_F_LOG_ALL);

/** The fault. */
export const logAllOnlyAtStart: FaultDefinition = {
  name: 'log-all-only-at-start',
  summary: 'acks SET_FEATURES | LOG_ALL under running rings but does not start logging',
  violates: ['VU-FEAT-005', 'VU-MIG-003', 'VU-MIG-004'],
  caughtBy: ['backend/migration/log-all-switched-on-under-traffic', 'backend/migration/used-ring-logged-at-log-guest-addr'],
  create: () => ({
    post(message, result, state) {
      if (message.request !== FrontendRequest.SET_FEATURES || result.kind !== 'ok' || message.size !== payloads.u64.SIZE) return undefined;
      const running = state.rings.some((r) => r.started);
      if (running && (payloads.u64.decode(message.body) & LOG_ALL) !== 0n) state.features &= ~LOG_ALL;
      return undefined;
    },
  }),
};

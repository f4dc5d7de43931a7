/**
 * Fault `lose-ring-state-on-reconnect`: every ring (re)starts from avail index 0 (packed: slot 0,
 * wrap counters 1) instead of SET_VRING_BASE / the used index, so a restarted or reconnected
 * ring processes completed requests again (VU-RECON-009, VU-RING-007/017).
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const loseRingStateOnReconnect: FaultDefinition = {
  name: 'lose-ring-state-on-reconnect',
  summary: 'resumes every ring from index 0 instead of the given base',
  violates: ['VU-RECON-009', 'VU-RING-007', 'VU-RING-017'],
  caughtBy: [
    'backend/ring-states/get-vring-base-index-and-wrap', 'backend/ring-states/set-vring-base-resumes-from-base',
    'backend/ring-states/restart-resumes-from-base', 'backend/ring-states/get-vring-base-after-in-flight-completed',
    'backend/ring-states/packed-base-mid-wrap',
    // Restarts pair 0 from its bases after SET_FEATURES without MQ.
    'backend/multiqueue/mq-dropped-after-pairs-set-up', 'backend/reconnect/restored-rings-with-pending-buffers',
    // SET_FEATURES | LOG_ALL under running rings restarts them from their bases (FEAT-005).
    'backend/migration/log-all-switched-on-under-traffic', 'backend/migration/used-ring-logged-at-log-guest-addr',
    'backend/notifications/event-idx-reset-on-restart',
    'backend/reconnect/restart-resumes-from-used-index', 'backend/reconnect/inflight-resubmits-after-restart',
    'backend/reconnect/inflight-repairs-unrecorded-batch', 'backend/reconnect/inflight-new-area-discards-stale-state',
  ],
  // Found by the whole-suite self-test (VHOSTLAB_MUTANTS_FULL=1): these cases see the fault's effect too
  // (they move traffic or a device-state stream through it), which the sampled run does not require.
  mayAlsoCatch: ['backend/migration/device-state/load-then-resume'],
  create: () => ({
    dataPath: {
      onRingStart(at) {
        at.lastAvailIdx = 0;
        if (at.format === 'packed') {
          at.usedIdx = 0;
          at.availWrapCounter = true;
          at.usedWrapCounter = true;
        }
      },
    },
  }),
};

/**
 * Fault `process-after-stop`: GET_VRING_BASE is answered, but the ring is started again right
 * after, so the back-end keeps consuming avail entries and writing used ones (VU-RING-003).
 * @module
 */
import { FrontendRequest, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const processAfterStop: FaultDefinition = {
  name: 'process-after-stop',
  summary: 'keeps processing a ring after answering GET_VRING_BASE',
  violates: ['VU-RING-003', 'VU-RING-016'],
  caughtBy: [
    'backend/ring-states/get-vring-base-stops-ring', 'backend/lifetimes/no-access-after-get-vring-base',
    'backend/ring-states/suspended-device-is-quiet',
    // Frames made available after the stop are used by the old session: used.idx moves past the base.
    'backend/reconnect/restored-rings-with-pending-buffers',
  ],
  mayAlsoCatch: [
    // Its old session sometimes uses a TX entry after the stop before the case reads used.idx
    // ("TX used.idx stays 16": it is 18), a true catch that depends on timing.
    'backend/reconnect/inflight-new-area-discards-stale-state',
    // Found by the whole-suite self-test (VHOSTLAB_MUTANTS_FULL=1): a device-state stream taken
    // after the stop meets the work the old session still does.
    'backend/migration/device-state/',
  ],
  create: () => ({
    post(message, result, state) {
      if (message.request !== FrontendRequest.GET_VRING_BASE || result.kind !== 'reply') return undefined;
      const r = state.ring(payloads.vringState.decode(message.body).index);
      // The ring engine rebuilds a started ring's queue from the base just returned; without a
      // kick fd it polls it.
      if (r !== undefined) r.started = true;
      return undefined;
    },
  }),
};

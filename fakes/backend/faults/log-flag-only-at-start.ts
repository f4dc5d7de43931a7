/**
 * Fault `log-flag-only-at-start`: SET_VRING_ADDR on a running ring is applied without its
 * VHOST_VRING_F_LOG flag, so used-ring writes are never logged at `log_guest_addr` once a
 * migration starts under traffic (VU-RING-015, VU-MIG-004; DPDK 04c27cb6 fixed a back-end that
 * did not re-read the ring addresses while running).
 * @module
 */
import { FrontendRequest, VRING_F_LOG, payloads } from '../../wire/index.js';
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const logFlagOnlyAtStart: FaultDefinition = {
  name: 'log-flag-only-at-start',
  summary: 'drops VHOST_VRING_F_LOG from SET_VRING_ADDR on a running ring',
  violates: ['VU-RING-015', 'VU-MIG-004'],
  caughtBy: ['backend/migration/used-ring-logged-at-log-guest-addr'],
  create: () => ({
    pre(message, state) {
      if (message.request !== FrontendRequest.SET_VRING_ADDR || message.size !== payloads.vringAddr.SIZE) return undefined;
      const addr = payloads.vringAddr.decode(message.body);
      if ((addr.flags & VRING_F_LOG) === 0 || state.ring(addr.index)?.started !== true) return undefined;
      const body = payloads.vringAddr.encode({ ...addr, flags: addr.flags & ~VRING_F_LOG });
      return { action: 'replace', message: { ...message, body, size: body.byteLength } };
    },
  }),
};

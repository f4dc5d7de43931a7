/**
 * Fault `log-assigns-bytes`: the dirty log is updated by storing the byte of the page's bit
 * instead of ORing the bit in, so bits the front-end or earlier writes set in the same byte are
 * lost (VU-MIG-005, and with them pages of VU-MIG-003 and VU-MIG-004).
 * @module
 */
import { FrontendRequest, VHOST_LOG_PAGE } from '../../wire/index.js';
import type { DirtyLog } from '../dirty-log.js';
import type { FaultDefinition } from './fault.js';

/** Replaces `log.markRange` with a plain byte store per page. */
function assignBytes(log: DirtyLog): void {
  log.markRange = (gpa, len) => {
    if (len <= 0) return;
    for (let p = Math.floor(gpa / VHOST_LOG_PAGE); p <= Math.floor((gpa + len - 1) / VHOST_LOG_PAGE); p++) {
      const byte = Math.floor(p / 8);
      if (byte >= log.bits.length) return;
      log.bits[byte] = 1 << (p % 8);
    }
  };
}

/** The fault. */
export const logAssignsBytes: FaultDefinition = {
  name: 'log-assigns-bytes',
  summary: 'stores the log byte of a written page instead of ORing its bit in',
  violates: ['VU-MIG-005', 'VU-MIG-003', 'VU-MIG-004'],
  // The two rings' used-ring log pages (0x80000, 0x80002) share a byte: the second store wipes
  // the first.
  caughtBy: ['backend/migration/log-all-switched-on-under-traffic', 'backend/migration/used-ring-logged-at-log-guest-addr'],
  create: () => ({
    post(message, result, state) {
      if (message.request === FrontendRequest.SET_LOG_BASE && result.kind === 'reply' && state.log !== undefined) assignBytes(state.log);
      return undefined;
    },
  }),
};

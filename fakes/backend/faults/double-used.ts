/**
 * Fault `double-used`: every 8th used element of a ring is written twice, so the driver gets a
 * head back that it no longer (or never again) made available (VU-DP-008, VU-DP-019).
 * @module
 */
import type { FaultDefinition } from './fault.js';
import { perSession } from './support.js';

/** One element in this many is duplicated (the first of each ring included). */
export const DOUBLE_USED_EVERY = 8;

/** The fault. */
export const doubleUsed: FaultDefinition = {
  name: 'double-used',
  summary: `returns every ${DOUBLE_USED_EVERY}th descriptor twice in the used ring`,
  violates: ['VU-DP-008', 'VU-DP-019'],
  caughtBy: [
    // Every case that moves traffic checks that each head comes back once.
    'backend/memory/translation-offset-and-qva', 'backend/memory/table-replaced-while-running', 'backend/ring-states/',
    'backend/vring-fd/kick-nofd-means-polling', 'backend/data-path/', 'backend/lifetimes/', 'backend/notifications/',
    'backend/reconnect/restart-resumes-from-used-index', 'backend/reconnect/restored-rings-with-pending-buffers',
    'backend/migration/log-all-switched-on-under-traffic', 'backend/migration/used-ring-logged-at-log-guest-addr',
  ],
  // A full run takes minutes (every traffic case waits for frames that come back twice).
  selfTestOnly: [
    'backend/data-path/each-chain-returned-once', 'backend/data-path/used-len', 'framing/reply-header/', 'session/start/',
    'protocol-features/reply-ack/success-acked-zero',
  ],
  create: () => {
    const counts = perSession(() => new Map<number, number>());
    return {
      dataPath: {
        beforeUsed(e, state) {
          const m = counts(state);
          const n = m.get(e.ring) ?? 0;
          m.set(e.ring, n + 1);
          if (n % DOUBLE_USED_EVERY === 0) e.repeat = 1;
        },
      },
    };
  },
};

/**
 * Fault `no-reconnect`: in client mode (`--client`) the back-end does not connect again once its
 * first session ended; the process stays up, idle (VU-SESS-006).
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const noReconnect: FaultDefinition = {
  name: 'no-reconnect',
  summary: 'client mode: never reconnects after the first session ends',
  violates: ['VU-SESS-006'],
  caughtBy: [
    // In client mode every session after the probe's needs the back-end to come back, so every
    // case fails; backend/reconnect/client-mode-reconnects is the one aimed at it.
    'session/', 'features/', 'protocol-features/', 'framing/', 'backend/',
  ],
  mode: 'client',
  selfTestOnly: ['backend/reconnect/client-mode-reconnects'],
  create: () => ({ reconnect: () => false }),
};

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
  caughtBy: ['session/reconnect/'],
  create: () => ({ reconnect: () => false }),
};

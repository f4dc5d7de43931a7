/**
 * Fault `write-readable`: flips the last byte of every chain's device-readable part when it is
 * popped (a net TX frame is corrupted in the driver's own buffer, and looped back so) (VU-DP-006).
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const writeReadable: FaultDefinition = {
  name: 'write-readable',
  summary: 'writes into device-readable buffers (flips the last readable byte of each chain)',
  violates: ['VU-DP-006'],
  caughtBy: [
    // Every case that moves traffic checksums the readable buffers, so all back-end areas catch it;
    // the control-plane areas (session, features, protocol-features, framing) must not.
    'backend/',
  ],
  // Found by the whole-suite self-test (VHOSTLAB_MUTANTS_FULL=1): these cases see the fault's effect too
  // (they move traffic or a device-state stream through it), which the sampled run does not require.
  mayAlsoCatch: ['protocol-features/backend-req/closed-channel-tolerated', 'protocol-features/backend-req/silent-without-gated-features'],
  create: () => ({
    dataPath: {
      onChain(_ring, chain) {
        const n = chain.readable.length;
        if (n === 0) return;
        const s = chain.readable[n - 1];
        s.host[s.hostOffset + s.len - 1] ^= 0xff;
      },
    },
  }),
};

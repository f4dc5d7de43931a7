/**
 * Fault `indirect-unserviced`: the back-end offers VIRTIO_RING_F_INDIRECT_DESC but does not
 * service it: every chain that came from an indirect table is handed back as empty (used.len 0,
 * nothing delivered), the way a back-end that never parses indirect tables returns them. The
 * offer is the bug (VU-FEAT-007: a device does not offer a feature it cannot service); what the
 * driver sees is a frame lost, or an RX buffer returned with nothing in it.
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const indirectUnserviced: FaultDefinition = {
  name: 'indirect-unserviced',
  summary: 'offers INDIRECT_DESC but returns every chain from an indirect table empty (used.len 0)',
  violates: ['VU-FEAT-007', 'VU-DP-016'],
  caughtBy: ['backend/data-path/indirect-descriptors', 'backend/data-path/packed-indirect-ignored-fields'],
  create: () => ({
    dataPath: {
      beforeUsed(e) {
        if (e.chain.indirect) e.len = 0;
      },
    },
  }),
};

/**
 * Fault `packed-used-keeps-driver-flags`: on a packed ring, a chain returned with nothing
 * written whose descriptors the driver flagged WRITE comes back used with WRITE and the driver's
 * writable length, as if the device had filled the buffer — what DPDK 22.11's packed dequeue
 * does by building the used flags from the driver's descriptor and never storing len
 * (VU-PK-003, VU-DP-008). Split rings and chains the device wrote are left alone.
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const packedUsedKeepsDriverFlags: FaultDefinition = {
  name: 'packed-used-keeps-driver-flags',
  summary: 'returns unwritten packed buffers the driver flagged WRITE as used with WRITE and their full length',
  violates: ['VU-PK-003', 'VU-DP-008'],
  caughtBy: ['backend/data-path/packed-used-write-flag-means-written'],
  create: () => ({
    dataPath: {
      beforeUsed(e, state) {
        if (!state.packed || e.len !== 0) return;
        // The device wrote nothing; report the driver's writable bytes as written.
        e.len = e.chain.writableBytes;
      },
    },
  }),
};

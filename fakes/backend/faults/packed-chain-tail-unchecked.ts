/**
 * Fault `packed-chain-tail-unchecked`: packed chains are followed through NEXT without checking
 * that the slots after the head are available, as DPDK 22.11's fill_vec_buf_packed() does. A
 * chain that runs into a slot the driver never made available then takes that slot as its tail,
 * and its stale buffer id is the one the device returns (VU-PK-002: the device never uses a
 * descriptor it has not seen flip).
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** The fault. */
export const packedChainTailUnchecked: FaultDefinition = {
  name: 'packed-chain-tail-unchecked',
  summary: 'follows a packed chain into slots never made available and returns it under the stale tail id',
  violates: ['VU-PK-002'],
  caughtBy: ['backend/data-path/packed-chain-stops-at-unavailable-slot'],
  create: () => ({ dataPath: { uncheckedChainTail: true } }),
};

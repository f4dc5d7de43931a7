/**
 * Fault `crash-on-unknown-region`: the process exits with status 134 (as an abort would) when a
 * descriptor, indirect table or ring points outside guest memory, instead of refusing it
 * (VU-MEM-008, VU-DP-014).
 * @module
 */
import type { FaultDefinition } from './fault.js';

/** Exit status of the crash (128 + SIGABRT). */
export const CRASH_EXIT_CODE = 134;

// Rules the engine reports for addresses outside every region.
const OUTSIDE = new Set(['VU-DP-014', 'VU-DP-017', 'VU-MEM-008']);

/** The fault. */
export const crashOnUnknownRegion: FaultDefinition = {
  name: 'crash-on-unknown-region',
  summary: `exits the process (status ${CRASH_EXIT_CODE}) when a descriptor or ring points outside guest memory`,
  violates: ['VU-MEM-008', 'VU-DP-014'],
  caughtBy: [
    'backend/memory/descriptor-outside-memory', 'backend/lifetimes/no-access-after-rem-mem-reg',
    // The racing writer's 0xfffff000 lengths reach past guest memory: the crash a double fetch causes.
    'backend/descriptor-bounds/descriptors-rewritten-in-flight',
  ],
  // Found by the whole-suite self-test (VHOSTLAB_MUTANTS_FULL=1): these cases see the fault's effect too
  // (they move traffic or a device-state stream through it), which the sampled run does not require.
  mayAlsoCatch: ['backend/descriptor-bounds/address-range-overflow', 'backend/descriptor-bounds/indirect-table-bounds'],
  create: (env) => ({
    dataPath: {
      onBadChain(ring, rule, reason) {
        if (!OUTSIDE.has(rule)) return;
        process.stderr.write(`vhostlab backend: fault crash-on-unknown-region: ring ${ring}: ${reason}\n`);
        env.exit(CRASH_EXIT_CODE);
      },
    },
  }),
};

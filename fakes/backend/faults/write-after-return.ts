/**
 * Fault `write-after-return`: right after a ring's used index is published, flips the last byte
 * the device wrote into every buffer it just returned (the last readable byte when it wrote
 * none), as a late DMA or deferred copy would (VU-DP-020).
 * @module
 */
import type { Chain, Segment } from '../../virtqueue/index.js';
import type { FaultDefinition } from './fault.js';
import { perSession } from './support.js';

// Locations remembered per ring between beforeUsed and afterFlush (chains are reused, so the
// location is copied out, not the chain).
interface Late {
  hosts: Uint8Array[];
  offsets: number[];
}

/** Host array and offset of byte `at` of `segments`, or undefined beyond their end. */
function locate(segments: readonly Segment[], at: number): [Uint8Array, number] | undefined {
  let left = at;
  for (const s of segments) {
    if (left < s.len) return [s.host, s.hostOffset + left];
    left -= s.len;
  }
  return undefined;
}

function target(chain: Chain, len: number): [Uint8Array, number] | undefined {
  return len > 0 ? locate(chain.writable, Math.min(len, chain.writableBytes) - 1) : locate(chain.readable, chain.readableBytes - 1);
}

/** The fault. */
export const writeAfterReturn: FaultDefinition = {
  name: 'write-after-return',
  summary: 'writes into buffers after returning them (last written byte flipped after used->idx moved)',
  violates: ['VU-DP-020'],
  caughtBy: [
    // The flipped byte lands in a frame the loop verifier checks, so every traffic case catches it
    // (backend/lifetimes/no-write-after-return is the one aimed at it); control-plane areas must not.
    'backend/',
  ],
  // Found by the whole-suite self-test (VHOSTLAB_MUTANTS_FULL=1): these cases see the fault's effect too
  // (they move traffic or a device-state stream through it), which the sampled run does not require.
  mayAlsoCatch: ['protocol-features/backend-req/closed-channel-tolerated', 'protocol-features/backend-req/silent-without-gated-features'],
  create: () => {
    const late = perSession(() => new Map<number, Late>());
    return {
      dataPath: {
        beforeUsed(e, state) {
          const t = target(e.chain, e.len);
          if (t === undefined) return;
          const m = late(state);
          let l = m.get(e.ring);
          if (l === undefined) m.set(e.ring, (l = { hosts: [], offsets: [] }));
          l.hosts.push(t[0]);
          l.offsets.push(t[1]);
        },
        afterFlush(ring, state) {
          const l = late(state).get(ring);
          if (l === undefined) return;
          for (let i = 0; i < l.hosts.length; i++) l.hosts[i][l.offsets[i]] ^= 0xff;
          l.hosts.length = 0;
          l.offsets.length = 0;
        },
      },
    };
  },
};

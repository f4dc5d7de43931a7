/**
 * Strict data-path checks (CHECKLIST VU-DP-019/021, VU-PK-002): per ring, which heads (split) or
 * buffer ids (packed) the device owns — from the pop that took them until the used index (packed:
 * the first used descriptor's flags) that returns them is published; a used element written but
 * not yet published still belongs to the device. A head made available again while the device owns it is a driver error
 * (VU-DP-019). Opt-in: a checksum of each chain's device-readable bytes at pop is compared at
 * completion, so a buffer the driver changed while the device owned it is caught (VU-DP-021;
 * costs a pass over every byte).
 * @module
 */
import type { Chain } from '../../virtqueue/index.js';

const IDS = 0x10000;

/** Ownership state of one ring. */
export class RingOwnership {
  private readonly owned = new Uint8Array(IDS);
  private readonly sums: Uint32Array | undefined;
  private readonly returning: number[] = [];

  constructor(checksums: boolean) {
    this.sums = checksums ? new Uint32Array(IDS) : undefined;
  }

  /** A chain was popped; returns a violation detail when its head was already owned. */
  take(chain: Chain): string | undefined {
    const id = chain.head & 0xffff;
    let problem: string | undefined;
    if (this.owned[id] !== 0) problem = `head ${id} made available again while the device still owns it`;
    this.owned[id] = 1;
    if (this.sums !== undefined) this.sums[id] = readableSum(chain);
    return problem;
  }

  /** A used element for `id` (its `chain`) is about to be written; returns a detail on a changed buffer. */
  give(id: number, chain: Chain): string | undefined {
    const i = id & 0xffff;
    this.returning.push(i);
    if (this.sums !== undefined && chain.head === id && readableSum(chain) !== this.sums[i]) {
      return `readable buffer of head ${id} changed while the device owned it`;
    }
    return undefined;
  }

  /** The used elements given so far were published: the driver owns them again. */
  published(): void {
    for (const i of this.returning) this.owned[i] = 0;
    this.returning.length = 0;
  }

  /** Forgets everything (ring restarted). */
  clear(): void {
    this.owned.fill(0);
    this.returning.length = 0;
  }
}

/** FNV-1a over the chain's device-readable bytes. */
function readableSum(chain: Chain): number {
  let h = 0x811c9dc5;
  for (const s of chain.readable) {
    const end = s.hostOffset + s.len;
    for (let i = s.hostOffset; i < end; i++) h = Math.imul(h ^ s.host[i], 0x01000193);
  }
  return h >>> 0;
}

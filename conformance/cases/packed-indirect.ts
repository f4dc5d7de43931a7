/**
 * Packed indirect tables (virtio 1.2 §2.8.7; CHECKLIST VU-PK-008): in a packed indirect table
 * only WRITE means anything, the buffer id of its entries is ignored, and WRITE on the descriptor
 * that points at the table is ignored too. A driver may leave garbage there; a device that reads
 * the table's ids, follows NEXT in it, or takes the pointer's WRITE for the buffers' direction
 * mis-handles the frames.
 * @module
 */
import { PackedDescFlag, VirtioFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { PackedPair } from '../verify/data-packed-loop.js';
import { fail, verdictOf } from '../verify/ring-verdict.js';

/** The packed indirect cases. */
export const packedIndirectCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/data-path/packed-indirect-ignored-fields',
    title: 'Packed indirect tables: garbage ids and flags in the table and WRITE on the pointer change nothing',
    area: 'data-path', requirements: ['VU-PK-008'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true, features: [VirtioFeature.RING_PACKED, VirtioFeature.INDIRECT_DESC] },
    timeoutMs: 30_000,
    spec: { doc: 'virtio', anchor: '2.8.7', quote: 'In an indirect table only the WRITE flag is valid; the device ignores the buffer id there, and ignores WRITE in the descriptor that refers to the table.' },
    description: 'Negotiates RING_PACKED and INDIRECT_DESC; every TX frame and RX buffer is a two-entry indirect table (header, then data). 32 frames loop with clean tables, then 64 with id 0xbeef and NEXT|AVAIL|USED set in every table entry and WRITE on every pointer descriptor: each must come back once and intact.',
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64, { indirect: true });
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        pair.indirect = {};
        await pair.start();
        const clean = await pair.loop(ctx, 32, 300);
        if (clean) return fail(clean.expected.map((e) => `precondition, clean indirect tables: ${e}`), clean.actual);
        pair.indirect = { tableId: 0xbeef, tableFlags: PackedDescFlag.NEXT | PackedDescFlag.AVAIL | PackedDescFlag.USED, pointerWrite: true };
        const dirty = await pair.loop(ctx, 64, 300, 1000);
        return dirty ? fail(dirty.expected.map((e) => `VU-PK-008, with garbage in the ignored fields: ${e}`), dirty.actual) : verdictOf();
      } finally {
        pair.close();
      }
    },
  },
]);

/**
 * A used descriptor stays as the device wrote it (virtio 1.2 §2.8.12 and §2.8.15; CHECKLIST
 * VU-PK-007): once the device marked a packed descriptor used, the slot belongs to the driver
 * again and the device must not write it — no late len, id or flags update — until the driver
 * makes it available anew. The first case lets bursts complete, snapshots both descriptor rings,
 * waits the quiet window with nothing new made available, and compares. The second checks the
 * other half, ring order: the device writes a used descriptor at the next used position and skips
 * the chain's slots, so every used descriptor lands at the first slot of a posted chain and no
 * slot outside the posted run changes.
 * @module
 */
import { PACKED_DESC, VirtioFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { PackedPair } from '../verify/data-packed-loop.js';
import { testFrame } from '../verify/data-net-loop.js';
import { fail, pass, verdictOf } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';
import { eventfdWrite } from '../../native/index.js';

const BURSTS = 6;
const BURST = 16;

/** The packed used-descriptor stability cases. */
export const packedUsedStableCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/data-path/packed-used-descriptors-left-alone',
    title: 'Packed rings: the device never rewrites a descriptor after marking it used',
    area: 'data-path', requirements: ['VU-PK-007'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true, features: [VirtioFeature.RING_PACKED] },
    timeoutMs: 30_000,
    spec: { doc: 'virtio', anchor: '2.8.12', quote: 'After the device marked a descriptor used it does not modify it again; the slot is the driver\'s until it is made available anew.' },
    description: `Loops frames through 64-entry packed rings, then ${BURSTS} times: sends ${BURST} frames, waits until they are back, snapshots both descriptor rings before the driver pops anything, waits the quiet window and compares: no byte of either ring may change.`,
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const ringBytes = (): Uint8Array[] => pair.rings.map((r) => pair.mem.read(r.driver.descAddr, PACKED_DESC.SIZE * pair.queueSize));
        for (let burst = 0; burst < BURSTS; burst++) {
          pair.drainUsed();
          pair.postRx();
          for (let i = 0; i < BURST; i++) pair.addTxChain(testFrame(1000 + burst * BURST + i, 64));
          pair.tx.driver.publish();
          eventfdWrite(pair.tx.kickFd);
          // Done when the RX ring holds BURST used descriptors past the driver's position.
          const back = await waitUntil(() => pair.rx.driver.usedPending() >= BURST && pair.tx.driver.usedPending() >= 1, ctx.waitMs, ctx.signal);
          if (!back) return fail(`burst ${burst}: ${BURST} frames come back`, `${pair.rx.driver.usedPending()} RX used descriptors within ${ctx.waitMs} ms`);
          // Let the last TX completions land too, then freeze the picture.
          await sleep(20, ctx.signal);
          const before = ringBytes();
          await sleep(ctx.quietMs, ctx.signal);
          const after = ringBytes();
          for (const [i, r] of pair.rings.entries()) {
            const a = after[i]!;
            const b = before[i]!;
            const at = a.findIndex((v, k) => v !== b[k]);
            if (at >= 0) {
              const slot = Math.floor(at / PACKED_DESC.SIZE);
              return fail(`VU-PK-007: no write to ring ${r.index}'s descriptors while nothing new is available`, `burst ${burst}: slot ${slot} byte ${at % PACKED_DESC.SIZE} changed from 0x${b[at]!.toString(16)} to 0x${a[at]!.toString(16)} during the ${ctx.quietMs} ms window`);
            }
          }
          pair.popRx();
        }
        return pass();
      } finally {
        pair.close();
      }
    },
  },
  {
    id: 'backend/data-path/packed-used-in-ring-order',
    title: 'Packed rings: used descriptors land at the posted chains\' ring positions and nowhere else',
    area: 'data-path', requirements: ['VU-PK-007'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true, features: [VirtioFeature.RING_PACKED] },
    timeoutMs: 30_000,
    spec: { doc: 'virtio', anchor: '2.8.12', quote: 'The device writes used descriptors in ring order: one at the next used position per buffer, then the used position skips the buffer\'s descriptors.' },
    description: `Loops frames through 64-entry packed rings, then ${BURSTS} times: snapshots the TX descriptor ring, sends ${BURST} two-descriptor frames, waits until they are back, and checks that the ${BURST} used descriptors follow each other chain by chain from the driver's position and that no slot outside the ${2 * BURST} posted ones changed.`,
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const size = pair.queueSize;
        const tx = pair.tx.driver;
        const txRing = (): Uint8Array => pair.mem.read(tx.descAddr, PACKED_DESC.SIZE * size);
        for (let burst = 0; burst < BURSTS; burst++) {
          pair.drainUsed();
          pair.postRx();
          const first = tx.availPosition;
          const before = txRing();
          for (let i = 0; i < BURST; i++) pair.addTxChain(testFrame(2000 + burst * BURST + i, 64));
          const posted = (tx.availPosition - first + size) % size;
          tx.publish();
          eventfdWrite(pair.tx.kickFd);
          const back = await waitUntil(() => pair.rx.driver.usedPending() >= BURST && tx.usedPending() >= BURST, ctx.waitMs, ctx.signal);
          // Settle: a device writing late or out of place gets the same chance to show it.
          await sleep(20, ctx.signal);
          const after = txRing();
          for (let slot = 0; slot < size; slot++) {
            if ((slot - first + size) % size < posted) continue;
            const at = slot * PACKED_DESC.SIZE;
            const changed = after.subarray(at, at + PACKED_DESC.SIZE).findIndex((v, k) => v !== before[at + k]);
            if (changed >= 0) {
              return fail(`VU-PK-007: used descriptors only at the ${posted} slots posted from slot ${first}`, `burst ${burst}: slot ${slot} (outside them) byte ${changed} changed from 0x${before[at + changed]!.toString(16)} to 0x${after[at + changed]!.toString(16)}`);
            }
          }
          if (!back) {
            return fail(`burst ${burst}: ${BURST} used TX descriptors, each at the slot after the previous chain's ${posted / BURST} descriptors`, `the walk from slot ${first} finds ${tx.usedPending()} TX and ${pair.rx.driver.usedPending()} RX used descriptors within ${ctx.waitMs} ms`);
          }
          pair.popRx();
        }
        return pass();
      } finally {
        pair.close();
      }
    },
  },
]);

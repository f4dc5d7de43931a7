/**
 * A used descriptor stays as the device wrote it (virtio 1.2 §2.8.12 and §2.8.15; CHECKLIST
 * VU-PK-007): once the device marked a packed descriptor used, the slot belongs to the driver
 * again and the device must not write it — no late len, id or flags update — until the driver
 * makes it available anew. The case lets bursts complete, snapshots both descriptor rings, waits
 * the quiet window with nothing new made available, and compares.
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
]);

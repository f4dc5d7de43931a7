/**
 * A hostile driver that rewrites descriptors the device owns (virtio 1.2 §2.7 driver rules;
 * CHECKLIST VU-DP-015 and VU-DP-021, ROBUST; DPDK 134228ca and 285e6b8b, CVE-2020-14375): a
 * native thread flips every TX descriptor's `len` between a legal frame length and one far past
 * guest memory, and its `flags`/`next` between "last" and "NEXT → descriptor 0", while frames are
 * sent and kicked. A device that reads a field twice (validates one value, uses the other) or
 * follows the flipped links without a bound overruns or loops; a correct one may drop or refuse
 * chains but stays up and keeps serving. The verdict is survival: the session still answers, and
 * a fresh session still loops frames.
 * @module
 */
import { startFlipper } from '../../native/index.js';
import { DescFlag } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { NET_HDR_LEN, drainRx, loopCheck, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { stillServes } from '../verify/ring-outcome.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
/** How long the flipping goes on. */
const RACE_MS = 1500;
/** Split descriptor layout: len at 8 (u32), flags at 12 and next at 14 (u16 each). */
const DESC_SIZE = 16;
const LEN_OFFSET = 8;
const FLAGS_NEXT_OFFSET = 12;
/** A length that reaches ~4 GiB past any buffer: far outside the 4 MiB of guest RAM. */
const HUGE_LEN = 0xfffff000;

/** The descriptor-race cases. */
export const descriptorRaceCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/descriptor-bounds/descriptors-rewritten-in-flight',
    title: 'TX descriptors whose len and links are rewritten while the device owns them do not crash or hang the back-end',
    area: 'descriptor-bounds', requirements: ['VU-DP-015', 'VU-DP-021'], level: 'ROBUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true },
    timeoutMs: 40_000,
    spec: { doc: 'virtio', anchor: '2.7.5', quote: 'The driver must not change a descriptor the device owns; a device faced with one that does may produce wrong data but must read each field once and stay memory-safe.' },
    description: `Loops 8 frames, then for ${RACE_MS} ms a native thread flips every TX descriptor's len between ${NET_HDR_LEN + 64} and 0x${HUGE_LEN.toString(16)} and its flags/next between 0 and NEXT→0 while frames are sent and kicked; afterwards the session must still answer GET_FEATURES and a fresh session must loop 8 frames.`,
    async run(ctx) {
      const raced = await withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const desc = rig.q(TX).driver.layout.descAddr;
        const n = rig.queueSize;
        const lens = startFlipper(rig.memory.hostAddress(desc + LEN_OFFSET), DESC_SIZE, n, NET_HDR_LEN + 64, HUGE_LEN);
        const links = startFlipper(rig.memory.hostAddress(desc + FLAGS_NEXT_OFFSET), DESC_SIZE, n, 0, DescFlag.NEXT);
        let sent = 0;
        let driverGaveUp: string | undefined;
        try {
          const until = Date.now() + RACE_MS;
          let seq = 0;
          while (Date.now() < until && !ctx.signal?.aborted && driverGaveUp === undefined) {
            try {
              rig.reclaim(TX);
              drainRx(rig, RX);
              const room = Math.min(8, rig.q(TX).freeBufs.length);
              if (room > 0) {
                sendFrames(rig, TX, Array.from({ length: room }, () => testFrame(seq++, 64)));
                sent += room;
              }
            } catch (err) {
              // Our own driver may refuse what the device returns for chains we no longer
              // describe consistently; the race is over then, the verdict is still survival.
              driverGaveUp = (err as Error).message;
            }
            await sleep(1, ctx.signal);
          }
        } finally {
          const rounds = lens.stop() + links.stop();
          ctx.note(`${rounds} flip rounds, ${sent} frames sent during the race${driverGaveUp ? `; our driver stopped early: ${driverGaveUp}` : ''}`);
        }
        const alive = await stillServes(rig.session, () => ctx.openSession());
        return alive ? fail(alive.expected.map((e) => `after descriptors were rewritten in flight: ${e}`), alive.actual) : undefined;
      });
      if (raced !== undefined) return raced;
      // A fresh session: whatever the raced rings became, the back-end serves a new driver.
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        postRx(rig, RX);
        const loop = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return loop ? fail(loop.expected.map((e) => `on a fresh session after the race: ${e}`), loop.actual) : pass();
      });
    },
  },
]);

/**
 * Publication order of the split used ring (virtio 1.2 §2.7.8 device requirements; CHECKLIST
 * VU-DP-009): the device writes a used element (id and len) before it advances `used->idx` past
 * it, so a driver that sees the index move may read the element at once. The case watches from
 * outside the back-end's process: every used slot the driver has consumed is stamped with a
 * sentinel, and a busy poll of `used->idx` checks each newly covered slot the moment the index
 * passes it. A back-end that publishes the index first shows a sentinel there, when the poll
 * lands inside its window — the check is statistical, so it runs over many thousands of elements.
 * @module
 */
import type { ConformanceCase } from '../model.js';
import { NET_HDR_LEN, drainRx, loopCheck, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';

const RX = 0;
const TX = 1;
const SENTINEL = 0xffffffff;
/** Frames looped while watching. */
const FRAMES = 100_000;
/** Frames per burst (half the ring: the RX side keeps buffers posted). */
const BURST = 32;
/** Longest a burst may take to come back. */
const BURST_MS = 2000;

/** GPA of used element `slot` of ring `r`. */
const elementAddr = (rig: RingRig, r: number, slot: number): number => rig.q(r).driver.layout.usedAddr + 4 + 8 * (slot % rig.queueSize);

/** Stamps the used elements of ring `r` for indices `[from, to)` (free-running) with the sentinel. */
function stamp(rig: RingRig, r: number, from: number, to: number): void {
  for (let i = from; i !== to; i = (i + 1) & 0xffff) {
    rig.memory.writeU32(elementAddr(rig, r, i), SENTINEL);
    rig.memory.writeU32(elementAddr(rig, r, i) + 4, SENTINEL);
  }
}

/** What the poll saw on one ring. */
interface Watch {
  seen: number;
  elements: number;
  /** First element found unwritten after the index covered it. */
  early?: string;
}

/** Checks the slots `used->idx` moved past since the last look; true when it moved. */
function look(rig: RingRig, r: number, w: Watch): boolean {
  const now = rig.usedIdx(r);
  if (now === w.seen) return false;
  for (let i = w.seen; i !== now; i = (i + 1) & 0xffff) {
    w.elements++;
    const id = rig.memory.readU32(elementAddr(rig, r, i));
    const len = rig.memory.readU32(elementAddr(rig, r, i) + 4);
    if (w.early === undefined && (id === SENTINEL || len === SENTINEL)) {
      w.early = `ring ${r}: used.idx reached ${now} while element ${i} (slot ${i % rig.queueSize}) still held ${id === SENTINEL ? 'no id' : `id ${id}`} and ${len === SENTINEL ? 'no len' : `len ${len}`}`;
    }
  }
  w.seen = now;
  return true;
}

/** The used-publication cases. */
export const usedPublicationCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/data-path/used-element-before-index',
    title: 'Each split used element is written before used->idx moves past it',
    area: 'data-path', requirements: ['VU-DP-009'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true },
    timeoutMs: 60_000,
    spec: { doc: 'virtio', anchor: 'The Virtqueue Used Ring', quote: 'The device MUST set len prior to updating the used idx; the element is written before idx is incremented past it.' },
    description: `Loops ${FRAMES} frames in bursts of ${BURST}. Consumed used slots of both rings are stamped with 0xffffffff; a busy poll of used->idx checks every slot the index passes the moment it passes it: none may still hold the stamp, and every RX len must cover the header and frame.`,
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const watch = [RX, TX].map((r): Watch => ({ seen: rig.usedIdx(r), elements: 0 }));
        for (const r of [RX, TX]) stamp(rig, r, rig.usedIdx(r), (rig.usedIdx(r) + rig.queueSize) & 0xffff);
        let sent = 0;
        let back = 0;
        const started = Date.now();
        while (sent < FRAMES && !ctx.signal?.aborted) {
          const n = Math.min(BURST, FRAMES - sent, rig.q(TX).freeBufs.length);
          sendFrames(rig, TX, Array.from({ length: n }, (_, i) => testFrame(sent + i, 64)));
          sent += n;
          const want = back + n;
          const deadline = Date.now() + BURST_MS;
          // A synchronous busy poll: the back-end runs in another process, and any await here
          // would widen the gap between two looks.
          while (Date.now() < deadline) {
            look(rig, RX, watch[0]!);
            look(rig, TX, watch[1]!);
            const rxBack = (watch[0]!.seen - rig.q(RX).driver.lastUsedIdx) & 0xffff;
            if (back + rxBack >= want && ((watch[1]!.seen - rig.q(TX).driver.lastUsedIdx) & 0xffff) >= n) break;
          }
          for (const r of [RX, TX]) {
            const from = rig.q(r).driver.lastUsedIdx;
            const got = r === RX ? drainRx(rig, RX) : rig.reclaim(TX);
            if (r === RX) {
              back += got.length;
              const short = (got as ReturnType<typeof drainRx>).find((g) => g.len < NET_HDR_LEN + 64);
              if (short) return fail('VU-DP-009: each RX used len covers the 12-byte header and the 64-byte frame', `head ${short.head} has len ${short.len}`);
            }
            stamp(rig, r, from, rig.q(r).driver.lastUsedIdx);
          }
          const early = watch.find((w) => w.early !== undefined);
          if (early) return fail('VU-DP-009: a used element is written before used->idx moves past it', early.early!);
          if (back < want) {
            postRx(rig, RX);
            return fail(`${want} frames back by now`, `${back} came back (the burst waited ${BURST_MS} ms)`);
          }
        }
        ctx.note(`${watch[0]!.elements} RX and ${watch[1]!.elements} TX used elements watched in ${Date.now() - started} ms`);
        return pass();
      });
    },
  },
]);

/**
 * Runs one data-path scenario on a fresh session: the rings of net pair 0 start, the TX variant
 * first loops a few good frames (so RX buffers are posted and the pair is known to work), free
 * guest memory and the file bytes in front of the region are filled with canaries, the scenario's
 * descriptors, tables and avail entries are written by hand (conformance/verify/bad-chain.ts, the
 * same helpers the descriptor-bounds cases use), the ring is kicked, and after a quiet window the
 * oracles run in order:
 *
 * 1. crash — the process died;
 * 2. corruption — guest memory changed outside the device-writable bytes of in-bounds descriptors,
 *    the used rings and the posted RX buffers (canaries), or a used element claims more bytes
 *    than every writable descriptor of the scenario holds;
 * 3. state-loss — a used element names a head that was never made available, or used->idx moved
 *    by more than the queue size (not checked after an avail index jump: re-processing stale slots
 *    is VU-DP-003, the conformance case's verdict, not a memory-safety finding);
 * 4. hang — the same connection stops answering GET_FEATURES (closing it is allowed);
 * 5. liveness — a fresh session starts and loops traffic.
 *
 * Packed scenarios run in run-packed.ts with the same oracles.
 *
 * virtio lets a device drop a bad chain, return it with len 0, stop the ring or ask for a reset,
 * so no oracle asks for anything to be processed.
 * @module
 */
import { VirtioFeature, featureMask } from '../../fakes/wire/index.js';
import { MemoryWatch, postRaw, usedCheck, writeDesc, writeDescAt, type RawDesc } from '../../conformance/verify/bad-chain.js';
import { NET_HDR_LEN, loopCheck, sendFrames, testFrame } from '../../conformance/verify/data-net-loop.js';
import { RingRig } from '../../conformance/verify/ring-rig.js';
import { FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { runPackedScenario } from './run-packed.js';
import { FRAME, RunSteps, mismatchFinding, netHeader, resolve, sleep, tableAddr, writableOf, type DatapathRunOptions, type Places } from './run-steps.js';
import { DATAPATH_QUEUE_SIZE, SCRATCH_BYTES, describeScenario, type DatapathScenario, type DescSpec } from './scenario.js';

export type { DatapathRunOptions } from './run-steps.js';

const RX = 0;
const TX = 1;

const raw = (d: DescSpec, p: Places): RawDesc => ({ addr: resolve(d.addr, p), len: d.len >>> 0, flags: d.flags & 0xffff, next: d.next & 0xffff });

/** Runs `s` on `peer` (started), in the scenario's ring layout. Throws a {@link Finding}. */
export async function runDatapathScenario(peer: FuzzPeer, s: DatapathScenario, o: DatapathRunOptions): Promise<void> {
  if (s.layout === 'packed') return runPackedScenario(peer, s, o);
  const run = new RunSteps(peer, o, describeScenario(s));
  const session = await run.step('connecting', () => run.open());
  let rig: RingRig | undefined;
  try {
    rig = await run.step('starting the rings', async () => {
      const r = await RingRig.open(session, { queueSize: DATAPATH_QUEUE_SIZE, features: featureMask(VirtioFeature.INDIRECT_DESC) });
      await r.startAll();
      return r;
    });
    const rg = rig;
    if (s.ring === 'tx') {
      const warm = await run.step('the warm-up', () => loopCheck(rg, 0, { count: 4, size: FRAME, timeoutMs: Math.max(1000, o.replyTimeoutMs) }));
      if (warm) await run.warmUpFailed(warm.actual);
    }
    const ring = s.ring === 'tx' ? TX : RX;
    const watch = MemoryWatch.arm(rg);
    const region = rg.memory.regions[0];
    const last = rg.memory.regions.at(-1)!;
    const scratch = rg.alloc.alloc(SCRATCH_BYTES, 4096);
    const p: Places = { scratch, start: region.guestPhysAddr, end: last.guestPhysAddr + last.size };
    // The frame TX descriptors read: a net header with the scenario's offload fields, then a test frame.
    if (s.ring === 'tx') {
      rg.memory.write(scratch, netHeader(s.header));
      rg.memory.write(scratch + NET_HDR_LEN, testFrame(9, FRAME));
    }
    s.descs.forEach((d, i) => writeDesc(rg, ring, i, raw(d, p)));
    s.tables.forEach((t, ti) => t.forEach((d, i) => writeDescAt(rg, tableAddr(p, ti) + i * 16, raw(d, p))));
    const from = [rg.usedIdx(RX), rg.usedIdx(TX)];
    if (s.ring === 'rx') sendFrames(rg, TX, [testFrame(7, FRAME)], false);
    watch.snapshot();
    const availFrom = rg.memory.readU16(rg.q(ring).driver.layout.availAddr + 2);
    postRaw(rg, ring, s.heads, s.availExtra ? availFrom + s.heads.length + s.availExtra : undefined);
    if (s.ring === 'rx') rg.publish(TX, true);
    await sleep(o.quietMs ?? 60);

    await run.survived();
    const w = writableOf(s, p);
    const mem = watch.check(w.ranges, s.ring === 'tx' ? [RX] : []);
    if (mem) throw mismatchFinding(FindingKind.CORRUPTION, mem, run.log);
    if (s.availExtra === 0) {
      for (const index of [RX, TX]) {
        const limits = new Map<number, number>(index === ring ? s.heads.map((h) => [h, w.total]) : []);
        for (const h of rg.q(index).headToBuf.keys()) if (!limits.has(h)) limits.set(h, index === RX ? rg.bufferSize : 0);
        const u = usedCheck(rg, { ring: index, from: from[index], limits, strictIds: true });
        if (u) throw mismatchFinding(u.expected.some((e) => e.includes('used.len')) ? FindingKind.CORRUPTION : FindingKind.STATE_LOSS, u, run.log);
      }
    }
    await run.stillAnswers(session);
  } finally {
    rig?.close();
    session.close();
  }
  await run.liveness();
}

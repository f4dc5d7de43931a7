/**
 * vhost-user.rst "Inflight I/O tracking" (CHECKLIST §3.11, VU-RECON-002/003/004/007): what a
 * back-end does with the shared inflight area, observed through the area itself (mapped here from
 * the fd GET_INFLIGHT_FD returned) and through the rings:
 * - while it runs it marks each fetched head and clears it on return, and keeps `used_idx`;
 * - killed and restarted, it resubmits the heads the area says are pending, in counter order,
 *   before new available entries, then goes on after them: none lost, none repeated;
 * - a region whose last batch reached the used ring but not the area is repaired, not redone;
 * - a new area replaces the old one's state.
 * A back-end killed mid-request cannot be caught at a chosen instant, so pending heads are written
 * into the area the way a back-end that died after fetching them would have left it (the
 * CHECKLIST's method). Split rings, net loopback (TX heads complete in an observable order).
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { ProtocolFeature, SPLIT_USED, featureMask } from '../../fakes/wire/index.js';
import type { CaseContext, CaseNeeds, ConformanceCase, Verdict } from '../model.js';
import { FrontendInflightArea, type SplitRegion } from '../../fakes/frontend/index.js';
import { drainRx, frameSeq, loopCheck, postRx, sendFrames, testFrame, trackerCheck } from '../verify/data-net-loop.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, verdictOf } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const INFLIGHT = ProtocolFeature.INFLIGHT_SHMFD;
const QUEUE_SIZE = 64;
const rigOptions = { queueSize: QUEUE_SIZE, protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, INFLIGHT) };
const needs: CaseNeeds = { protocolFeatures: [INFLIGHT], loopingNet: true };
const SPEC = { doc: 'vhost-user', anchor: 'Inflight I/O tracking' } as const;

/** Used ring element `slot` of ring `index`: its id. */
const usedId = (rig: RingRig, index: number, slot: number): number =>
  rig.memory.readU32(rig.q(index).driver.layout.usedAddr + SPLIT_USED.RING + SPLIT_USED.ENTRY * (slot % rig.queueSize) + SPLIT_USED.ENTRY_ID);

/**
 * Opens a rig with INFLIGHT_SHMFD, gets an area for RX and TX, hands it over before the rings
 * start, loops `warm` frames, then runs `fn`. The area is released afterwards.
 */
async function withInflightRig(ctx: CaseContext, warm: number, fn: (rig: RingRig, area: FrontendInflightArea) => Promise<Verdict>): Promise<Verdict> {
  return withRig(ctx, rigOptions, async (rig) => {
    const area = await FrontendInflightArea.request(rig.session, 2, QUEUE_SIZE);
    try {
      await area.give(rig.session);
      await rig.startAll();
      const w = await loopCheck(rig, 0, { count: warm, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
      if (w) return fail(w.expected, `precondition: ${w.actual}`);
      return await fn(rig, area);
    } finally {
      area.close();
    }
  });
}

/** Makes a region usable as a back-end's previous state even if the back-end never wrote it. */
function ensureInitialised(region: SplitRegion, ringUsedIdx: number): void {
  if (region.version === 0) {
    region.version = 1;
    region.descNum = QUEUE_SIZE;
    region.usedIdx = ringUsedIdx;
  }
}

/** Stops both rings (GET_VRING_BASE) so nothing moves while the case edits memory, then closes. */
async function stopAndClose(rig: RingRig): Promise<void> {
  await rig.session.getVringBase(RX);
  await rig.session.getVringBase(TX);
  rig.session.close();
}

/** Frames that arrived on RX, by sequence number, and how often. */
function arrivals(rig: RingRig): Map<number, number> {
  const seen = new Map<number, number>();
  for (const r of drainRx(rig, RX)) {
    const seq = frameSeq(r.frame);
    if (seq !== undefined) seen.set(seq, (seen.get(seq) ?? 0) + 1);
  }
  return seen;
}

/** The inflight cases. */
export const inflightCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/reconnect/inflight-records-fetched-heads',
    title: 'The back-end marks fetched heads in the inflight area, clears them on return and keeps used_idx',
    area: 'reconnect', requirements: ['VU-RECON-002'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'The back-end sets inflight and counter for each descriptor it fetches, clears inflight once the descriptor is used, and records used_idx after updating the used ring.' },
    description: 'Hands over an inflight area, loops 48 frames, then reads the TX region: version 1, desc_num = queue size, no head still marked, used_idx = the ring\'s used index, and each returned head carries a counter that grows in fetch order.',
    async run(ctx) {
      return withInflightRig(ctx, 48, async (rig, area) => {
        const r = area.split(TX);
        const used = rig.usedIdx(TX);
        const expected = ['version 1 once the back-end used the region', `desc_num ${QUEUE_SIZE}`, 'no head marked inflight once every chain is back', `used_idx ${used} (the ring's)`];
        if (r.version !== 1) return fail(expected, `version ${r.version} after ${used} TX completions: the back-end did not use the area`);
        if (r.descNum !== QUEUE_SIZE) return fail(expected, `desc_num ${r.descNum}`);
        const pending = r.inflightHeads();
        if (pending.length > 0) return fail(expected, `heads ${pending.slice(0, 8).join(', ')} still marked inflight after they were returned`);
        if (r.usedIdx !== used) return fail(expected, `used_idx ${r.usedIdx} in the area, ${used} in the ring`);
        // Each head's counter is from its last fetch; in last-use order they must increase.
        const lastUse = new Map<number, number>();
        for (let i = 0; i < Math.min(used, QUEUE_SIZE); i++) {
          const h = usedId(rig, TX, (used - 1 - i) & 0xffff);
          if (!lastUse.has(h)) lastUse.set(h, i);
        }
        const heads = [...lastUse.entries()].sort((a, b) => b[1] - a[1]).map(([h]) => h);
        let prev = 0n;
        for (const h of heads) {
          const c = r.entry(h).counter;
          if (c <= prev) return fail('counters of returned heads increase in fetch order', `head ${h} has counter ${c} after a head with ${prev}`);
          prev = c;
        }
        return pass(`${heads.length} TX heads checked, last counter ${prev}`);
      });
    },
  },
  {
    id: 'backend/reconnect/inflight-resubmits-after-restart',
    title: 'Killed and restarted, the back-end resubmits the pending heads in counter order, none lost or repeated',
    area: 'reconnect', requirements: ['VU-RECON-003', 'VU-RECON-009'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...needs, restartablePeer: true },
    spec: { ...SPEC, quote: 'After a restart the front-end sends SET_INFLIGHT_FD with the kept area; the back-end resubmits the descriptors still marked inflight, ordered by counter, before processing new ones.' },
    description: 'Loops frames with an inflight area, kills the back-end (SIGKILL) and restarts it; makes 4 TX chains available and marks them pending in the area with counters in another order than the ring\'s (as a back-end that died after fetching them leaves it); reconnects with SET_INFLIGHT_FD and SET_VRING_BASE = used index. The 4 must complete exactly once, in counter order, their frames arrive once, and traffic goes on after them.',
    timeoutMs: 45_000,
    async run(ctx) {
      return withInflightRig(ctx, 16, async (rig, area) => {
        await ctx.restartPeer();
        const region = area.split(TX);
        const used = rig.usedIdx(TX);
        ensureInitialised(region, used);
        if (region.usedIdx !== used) return fail(`the area's used_idx equals the ring's used index after a clean stop`, `used_idx ${region.usedIdx}, ring ${used}`);
        const seqs = [900, 901, 902, 903];
        const heads = sendFrames(rig, TX, seqs.map((s) => testFrame(s, 64)));
        // Counter ranks differ from ring order, so only a back-end that follows the area gets it right.
        const rank = [2, 0, 3, 1];
        const base = region.maxCounter();
        heads.forEach((h, i) => region.markInflight(h, base + 1n + BigInt(rank[i])));
        const expectOrder = heads.map((h, i) => ({ h, r: rank[i] })).sort((a, b) => a.r - b.r).map((x) => x.h);
        ctx.note(`pending TX heads ${heads.join(', ')} at avail ${used}..${used + 3}; counter order ${expectOrder.join(', ')}`);
        await rig.reattach(await ctx.openSession(), {}, (s) => area.give(s));
        postRx(rig, RX);
        eventfdWrite(rig.q(TX).kickFd);
        const done = await waitUntil(() => rig.usedIdx(TX) === ((used + heads.length) & 0xffff), ctx.waitMs, ctx.signal);
        await sleep(ctx.quietMs, ctx.signal);
        const returned = rig.reclaim(TX).map((e) => e.id);
        const seen = arrivals(rig);
        const lifetime = trackerCheck(rig);
        if (lifetime) return fail(lifetime.expected, lifetime.actual);
        const expected = [`TX heads ${expectOrder.join(', ')} complete once, in counter order`, 'their 4 frames arrive once each'];
        if (!done || returned.length !== heads.length) return fail(expected, `${returned.length} TX completions (${returned.join(', ') || 'none'}); TX used.idx ${rig.usedIdx(TX)} from ${used}`);
        if (returned.join() !== expectOrder.join()) return fail(expected, returned.join() === heads.join() ? `completed in ring order ${returned.join(', ')}, not in the area's counter order` : `completed in the order ${returned.join(', ')}`);
        const wrong = seqs.filter((s) => seen.get(s) !== 1);
        if (wrong.length > 0) return fail(expected, wrong.map((s) => `frame ${s} arrived ${seen.get(s) ?? 0} times`).join('; '));
        const stale = region.inflightHeads();
        const again = await loopCheck(rig, 0, { count: 32, size: 64, firstSeq: 5000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return verdictOf(
          stale.length > 0 ? mismatch('no head marked inflight once the resubmitted ones are back', `heads ${stale.join(', ')} still marked`) : undefined,
          again && mismatch(again.expected.map((e) => `after the resubmission: ${e}`), again.actual),
          trackerCheck(rig),
        );
      });
    },
  },
  {
    id: 'backend/reconnect/inflight-repairs-unrecorded-batch',
    title: 'A last batch that reached the used ring but not the inflight area is not completed again',
    area: 'reconnect', requirements: ['VU-RECON-004'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'If the used_idx in the area differs from the used ring\'s idx, the last batch was published but not recorded: the back-end clears those descriptors (from last_batch_head) and sets used_idx before resubmitting.' },
    description: 'Loops 16 frames with an inflight area and stops the rings; in the TX region marks the last 4 returned heads inflight again, sets last_batch_head to the last and used_idx 4 behind the ring (a back-end that died between publishing and recording); reconnects with the area. Nothing may complete again, the area must be repaired, and traffic goes on.',
    timeoutMs: 30_000,
    async run(ctx) {
      return withInflightRig(ctx, 16, async (rig, area) => {
        await stopAndClose(rig);
        const region = area.split(TX);
        const used = rig.usedIdx(TX);
        ensureInitialised(region, used);
        const batch = [4, 3, 2, 1].map((k) => usedId(rig, TX, (used - k) & 0xffff));
        const base = region.maxCounter();
        batch.forEach((h, i) => region.markInflight(h, base + 1n + BigInt(i)));
        region.lastBatchHead = batch[batch.length - 1];
        region.usedIdx = (used - batch.length) & 0xffff;
        ctx.note(`TX heads ${batch.join(', ')} marked inflight again, used_idx ${region.usedIdx} vs ring ${used}`);
        await rig.reattach(await ctx.openSession(), {}, (s) => area.give(s));
        eventfdWrite(rig.q(TX).kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        const redone = rig.usedIdx(TX) - used;
        const lifetime = trackerCheck(rig);
        if (lifetime) return fail(`heads ${batch.join(', ')} are not returned again`, lifetime.actual);
        if (redone !== 0) return fail(`TX used.idx stays ${used}`, `it moved by ${redone & 0xffff}`);
        const again = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 7000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        const stale = region.inflightHeads();
        return verdictOf(
          again && mismatch(again.expected.map((e) => `after the repair: ${e}`), again.actual),
          stale.length > 0 ? mismatch('the repaired heads are no longer marked inflight', `heads ${stale.join(', ')} still marked`) : undefined,
          region.usedIdx !== rig.usedIdx(TX) ? mismatch(`the area's used_idx follows the ring (${rig.usedIdx(TX)})`, `used_idx ${region.usedIdx}`) : undefined,
          trackerCheck(rig),
        );
      });
    },
  },
  {
    id: 'backend/reconnect/inflight-new-area-discards-stale-state',
    title: 'A new SET_INFLIGHT_FD replaces the previous area: its stale heads are not resubmitted',
    area: 'reconnect', requirements: ['VU-RECON-007'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'SET_INFLIGHT_FD sets the inflight area the back-end tracks from then on (after a guest reboot the front-end hands a fresh, zeroed one).' },
    description: 'Loops 16 frames with area A and stops the rings; marks two TX heads that are not available as pending in A; on a new connection sends SET_INFLIGHT_FD A and then SET_INFLIGHT_FD with a fresh area B, and starts the rings: no TX head may complete (the heads were never made available), and traffic works.',
    timeoutMs: 30_000,
    async run(ctx) {
      return withInflightRig(ctx, 16, async (rig, areaA) => {
        await stopAndClose(rig);
        const region = areaA.split(TX);
        const used = rig.usedIdx(TX);
        ensureInitialised(region, used);
        const stale = [5, 9];
        const base = region.maxCounter();
        stale.forEach((h, i) => region.markInflight(h, base + 1n + BigInt(i)));
        let areaB: FrontendInflightArea | undefined;
        try {
          await rig.reattach(await ctx.openSession(), {}, async (s) => {
            await areaA.give(s);
            areaB = await FrontendInflightArea.request(s, 2, QUEUE_SIZE);
            await areaB.give(s);
          });
          eventfdWrite(rig.q(TX).kickFd);
          await sleep(ctx.quietMs, ctx.signal);
          const lifetime = trackerCheck(rig);
          if (lifetime) return fail(`stale heads ${stale.join(', ')} of the replaced area are not completed`, lifetime.actual);
          if (rig.usedIdx(TX) !== used) return fail(`TX used.idx stays ${used}`, `it is ${rig.usedIdx(TX)}`);
          const again = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 8000, timeoutMs: ctx.waitMs, signal: ctx.signal });
          return verdictOf(again && mismatch(again.expected.map((e) => `with the new area: ${e}`), again.actual), trackerCheck(rig));
        } finally {
          areaB?.close();
        }
      });
    },
  },
]);

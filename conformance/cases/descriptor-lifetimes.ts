/**
 * Zero-copy descriptor lifetimes, checked rather than assumed (virtio §2.7.8, §2.7.13; vhost-user
 * GET_VRING_BASE, SET_MEM_TABLE, REM_MEM_REG; CHECKLIST VU-DP-020): once a chain is returned, once
 * the ring is stopped, once memory is replaced or removed, and once the connection is gone, the
 * back-end must not touch those buffers again. Late writes (deferred copies, async DMA,
 * zero-copy mbufs released late) are caught by canary patterns rechecked after a quiet window.
 * @module
 */
import { closeFd, memfdCreate, mmapShared } from '../../native/index.js';
import { FrontendRequest, ProtocolFeature, featureMask, memRegion } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { NET_HDR_LEN, frameDiff, frameSeq, loopCheck, sendFrames, testFrame, trackerCheck, warmUp } from '../verify/data-net-loop.js';
import { FdProbe, stillOpen } from '../verify/ring-fd-probe.js';
import { expectAccepted, sendForAck } from '../verify/ring-outcome.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { tableSwap } from '../verify/memory-table-swap.js';
import { fail, mismatch, pass, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const LOOP = { loopingNet: true } as const;
const CANARY = 0xa5;

/** Fills the buffers of every RX chain still owned by the device with the canary byte. */
function canaryPostedRx(rig: RingRig): number[] {
  const bufs = [...rig.q(RX).headToBuf.values()];
  for (const b of bufs) rig.bufBytes(RX, b).fill(CANARY);
  return bufs;
}

/** The first posted RX buffer whose canary changed, as a mismatch. */
function canaryCheck(rig: RingRig, bufs: readonly number[], when: string, quietMs: number): CheckResult {
  for (const b of bufs) {
    const bytes = rig.bufBytes(RX, b);
    const at = bytes.findIndex((v) => v !== CANARY);
    if (at >= 0) return mismatch(`RX buffers are not written ${when}`, `byte ${at} of RX buffer ${b} changed from 0x${CANARY.toString(16)} to 0x${bytes[at].toString(16)} within ${quietMs} ms ${when}`);
  }
  return undefined;
}

/** The descriptor-lifetime cases. */
export const descriptorLifetimeCases: readonly ConformanceCase[] = Object.freeze([
  // virtio §2.7.8: returning a chain hands its buffers back to the driver.
  {
    id: 'backend/lifetimes/no-write-after-return',
    title: 'No write to an RX buffer after it was returned',
    area: 'descriptor-lifetimes', requirements: ['VU-DP-020'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.8', quote: 'Once a chain is in the used ring it belongs to the driver again; the device must not touch its buffers.' },
    description: 'Loops frames; each RX buffer is filled with a canary the moment its used entry is seen, and not reposted; more frames keep the device busy; every canary must survive the quiet window.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        if (!(await warmUp(rig, 0, ctx.waitMs, ctx.signal))) return fail('frames loop', `no probe came back within ${ctx.waitMs} ms`);
        const tracker = rig.q(RX).driver.tracker;
        let armed = 0;
        for (let round = 0; round < 4; round++) {
          const frames = Array.from({ length: 8 }, (_, i) => testFrame(round * 8 + i, 1000));
          const txBufs = sendFrames(rig, TX, frames).map((h) => rig.q(TX).headToBuf.get(h)!);
          await waitUntil(() => rig.usedIdx(RX) !== rig.q(RX).driver.lastUsedIdx, ctx.waitMs, ctx.signal);
          await sleep(2);
          for (const e of rig.reclaim(RX)) {
            // A write racing or following the used->idx store shows as a changed byte here, before
            // the canary goes in (a late write a moment later shows on the canary).
            const got = rig.bufBytes(RX, e.buf!).slice(NET_HDR_LEN, e.len);
            const seq = frameSeq(got);
            const sent = seq === undefined ? undefined : frames[seq - round * 8];
            const d = sent === undefined ? 'holds no frame of this round' : frameDiff(sent, got);
            if (d) return fail('a returned RX buffer holds exactly the frame sent (nothing written after used->idx)', `RX head ${e.id}: ${d}`);
            tracker.arm(e.id);
            armed++;
          }
          await waitUntil(() => rig.usedIdx(TX) === rig.q(TX).driver.availIdx, ctx.waitMs, ctx.signal);
          await sleep(2);
          for (const [i, b] of txBufs.entries()) {
            const d = frameDiff(frames[i], rig.bufBytes(TX, b).slice(NET_HDR_LEN, NET_HDR_LEN + frames[i].length));
            if (d) return fail('a returned TX buffer is unchanged (the device never writes it, before or after returning it)', `TX buffer ${b}: ${d}`);
          }
          rig.reclaim(TX);
        }
        if (armed === 0) return fail('RX chains come back', 'none did');
        // Keep traffic going on the buffers still posted while the canaries sit.
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(100 + i, 1000)));
        await sleep(ctx.quietMs, ctx.signal);
        tracker.recheckCanaries();
        return verdictOf(trackerCheck(rig));
      });
    },
  },
  // GET_VRING_BASE stops the ring: the available-but-unused RX buffers are the driver's again.
  {
    id: 'backend/lifetimes/no-access-after-get-vring-base',
    title: 'No write to posted RX buffers after GET_VRING_BASE',
    area: 'descriptor-lifetimes', requirements: ['VU-DP-020', 'VU-RING-003'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'vhost-user', anchor: 'GET_VRING_BASE', quote: 'Stops the vring; after the reply the back-end does not process it (its buffers are not written).' },
    description: 'Loops frames, stops RX ring 0 with GET_VRING_BASE, fills every still-posted RX buffer with a canary and sends more frames: RX used.idx and the canaries must not change.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await rig.session.getVringBase(RX);
        const used = rig.usedIdx(RX);
        const bufs = canaryPostedRx(rig);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(100 + i, 256)));
        await sleep(ctx.quietMs, ctx.signal);
        if (rig.usedIdx(RX) !== used) return fail(`RX used.idx stays ${used} after GET_VRING_BASE`, `it moved to ${rig.usedIdx(RX)}`);
        return verdictOf(canaryCheck(rig, bufs, 'after GET_VRING_BASE', ctx.quietMs));
      });
    },
  },
  // SET_MEM_TABLE replaces the memory; the old memfd is no longer the guest's RAM.
  {
    id: 'backend/lifetimes/no-access-after-table-replaced',
    title: 'No write to the old memory after SET_MEM_TABLE replaced it',
    area: 'descriptor-lifetimes', requirements: ['VU-DP-020', 'VU-MEM-007'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'vhost-user', anchor: 'SET_MEM_TABLE', quote: 'A new table replaces the old one; memory of the old table must not be accessed afterwards.' },
    description: 'Runs the hot-plug table swap (new memfds for the same GPAs plus one region), poisons the old memfd and loops frames on the new one: the old memfd must keep its poison pattern.',
    timeoutMs: 30_000,
    async run(ctx) {
      const r = await tableSwap(ctx);
      return verdictOf(r.setup, r.oldUntouched);
    },
  },
  // REM_MEM_REG: "the back-end no longer accesses the region".
  {
    id: 'backend/lifetimes/no-access-after-rem-mem-reg',
    title: 'No access to a region after REM_MEM_REG removed it',
    area: 'descriptor-lifetimes', requirements: ['VU-DP-020', 'VU-MEM-013'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, protocolFeatures: [ProtocolFeature.CONFIGURE_MEM_SLOTS] },
    spec: { doc: 'vhost-user', anchor: 'REM_MEM_REG', quote: 'Removes a memory region; the back-end must unmap it and not access it again.' },
    description: 'Adds a second region with ADD_MEM_REG, removes it with REM_MEM_REG, then posts an RX buffer inside it and sends frames: the removed region (canary-filled) must stay unchanged and the back-end must survive.',
    async run(ctx) {
      return withRig(ctx, { protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.CONFIGURE_MEM_SLOTS) }, async (rig) => {
        await rig.startAll();
        const size = 0x2_0000;
        const fd = memfdCreate('vhostlab-removed', size);
        try {
          const gpa = 0x3_0000_0000n;
          const reg = { guestPhysAddr: gpa, memorySize: BigInt(size), userspaceAddr: 0x7d00_0000_0000n, mmapOffset: 0n };
          const add = expectAccepted('of a second region', FrontendRequest.ADD_MEM_REG, await sendForAck(rig.session, FrontendRequest.ADD_MEM_REG, memRegion.encode({ region: reg }), [fd]));
          if (add) return fail(add.expected, `precondition: ${add.actual}`);
          const probe = new FdProbe();
          const rem = expectAccepted('of that region', FrontendRequest.REM_MEM_REG, await sendForAck(rig.session, FrontendRequest.REM_MEM_REG, memRegion.encode({ region: reg }), [probe.writeFd]));
          await stillOpen([probe], 0);
          if (rem) return fail(rem.expected, rem.actual);
          // Our own view of the removed memfd, filled with the canary.
          const map = mmapShared(fd, size);
          const view = new Uint8Array(map.buffer);
          view.fill(CANARY);
          try {
            // The only RX buffer the device gets lies in the removed region.
            rig.q(RX).driver.addChain([{ addr: Number(gpa) + 0x1000, len: 2048, writable: true }]);
            rig.publish(RX, true);
            sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(100 + i, 64)));
            await waitUntil(() => rig.usedIdx(TX) === rig.q(TX).driver.availIdx, ctx.waitMs, ctx.signal);
            await sleep(ctx.quietMs, ctx.signal);
            const at = view.findIndex((v) => v !== CANARY);
            if (at >= 0) return fail('the removed region is not written', `byte 0x${at.toString(16)} of the removed region changed to 0x${view[at].toString(16)}`);
          } finally {
            map.unmap();
          }
        } finally {
          closeFd(fd);
        }
        if (ctx.peerAlive() === false) return fail('the back-end survives a descriptor in a removed region', 'it exited');
        return pass();
      });
    },
  },
  // "Communication": after the socket closes, a new connection starts without the old state.
  {
    id: 'backend/lifetimes/no-access-after-disconnect',
    title: 'No write to posted buffers after the connection closed, nor from the next session',
    area: 'descriptor-lifetimes', requirements: ['VU-DP-020', 'VU-SESS-003'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'When the connection closes the back-end drops the session: memory table, rings and fds of the old connection are gone.' },
    description: 'Loops frames, closes the connection with RX buffers still posted, fills them with canaries, then opens a new session that asks GET_VRING_BASE on ring 0 without any setup; the canaries and used rings must not change.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        rig.session.close();
        // The back-end learns of the close asynchronously: give it one quiet window first.
        await sleep(ctx.quietMs, ctx.signal);
        const bufs = canaryPostedRx(rig);
        const used = [rig.usedIdx(RX), rig.usedIdx(TX)];
        const s2 = await ctx.openSession();
        try { await s2.getFeatures(); await s2.getVringBase(RX); } catch { /* any answer or a close is fine here */ }
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(100 + i, 64)));
        await sleep(ctx.quietMs, ctx.signal);
        if (rig.usedIdx(RX) !== used[0] || rig.usedIdx(TX) !== used[1]) {
          return fail('the old session\'s used rings stay still after disconnect', `RX used.idx ${used[0]} → ${rig.usedIdx(RX)}, TX ${used[1]} → ${rig.usedIdx(TX)}`);
        }
        return verdictOf(canaryCheck(rig, bufs, 'after the connection closed', ctx.quietMs));
      });
    },
  },
]);



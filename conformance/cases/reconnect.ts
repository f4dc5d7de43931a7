/**
 * vhost-user.rst "Communication" (reconnection), SET_VRING_BASE and "Inflight I/O tracking"
 * (CHECKLIST §5.9, VU-RECON-*, VU-SESS-003/006): the back-end is killed mid-traffic and started
 * again, and the same rings resume from the used index with no descriptor lost or returned twice;
 * a back-end in client mode comes back to a front-end that went away; the inflight region where
 * one is offered.
 * @module
 */
import { closeFd, eventfdWrite } from '../../native/index.js';
import { FrontendRequest, ProtocolFeature, featureMask, inflight, inflightRegionMinSize } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { awaitFramesNoRepost, loopCheck, warmUpNoRepost, postRx, sendFrames, testFrame, trackerCheck } from '../verify/data-net-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, verdictOf } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';
import { negotiate } from '../../fakes/frontend/index.js';
import { VirtioFeature } from '../../fakes/wire/index.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const INFLIGHT = ProtocolFeature.INFLIGHT_SHMFD;

/** The reconnect cases. */
export const reconnectCases: readonly ConformanceCase[] = Object.freeze([
  // SET_VRING_BASE after reconnect: "the front-end sets the base to the used index", so requests
  // that were used are not processed again and the rest are (SPDK 2969c5ab).
  {
    id: 'backend/reconnect/restart-resumes-from-used-index',
    title: 'Back-end killed mid-traffic and restarted resumes from the used index, nothing lost or repeated',
    area: 'reconnect', requirements: ['VU-RECON-009', 'VU-SESS-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { restartablePeer: true, loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_BASE', quote: 'After a reconnect the front-end restores each ring with SET_VRING_BASE = the used index; the back-end resumes from there.' },
    description: 'Fills TX ring 1, kills the back-end (SIGKILL) at once and restarts it, re-attaches the same rings with SET_VRING_BASE = used.idx from ring memory: every TX chain must come back exactly once and frames must loop again.',
    timeoutMs: 45_000,
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        rig.reclaim(TX);
        const n = rig.q(TX).freeBufs.length;
        sendFrames(rig, TX, Array.from({ length: n }, (_, i) => testFrame(1000 + i, 1400)));
        await ctx.restartPeer();
        const usedAtRestart = rig.usedIdx(TX);
        ctx.note(`TX used.idx ${usedAtRestart} of avail.idx ${rig.q(TX).driver.availIdx} when the back-end was restarted`);
        const bases = await rig.reattach(await ctx.openSession());
        ctx.note(`re-attached with bases RX ${bases.get(RX)} TX ${bases.get(TX)}`);
        const back = await waitUntil(() => { rig.reclaim(TX); return rig.q(TX).driver.inFlight === 0; }, ctx.waitMs, ctx.signal);
        const lifetime = trackerCheck(rig);
        if (lifetime) return fail(lifetime.expected, lifetime.actual);
        if (!back) return fail(`all ${n} TX chains come back after the restart (from used.idx ${usedAtRestart})`, `${rig.q(TX).driver.inFlight} still in flight; TX used.idx ${rig.usedIdx(TX)} of avail.idx ${rig.q(TX).driver.availIdx}`);
        const again = await loopCheck(rig, 0, { count: 64, size: 64, firstSeq: 5000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return verdictOf(again && mismatch(again.expected.map((e) => `after the restart: ${e}`), again.actual), trackerCheck(rig));
      });
    },
  },
  // "Migrating back-end state": the destination starts the rings from the source's bases while
  // they hold buffers the guest made available (and kicked) on the source; the front-end writes
  // each kick fd once, and that must be enough.
  {
    id: 'backend/reconnect/restored-rings-with-pending-buffers',
    title: 'Rings restored on a new session with buffers already available are processed after one kick',
    area: 'reconnect', requirements: ['VU-MIG-016'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Migrating back-end state', quote: 'On the destination the rings are started with the bases from the source; buffers the driver made available before are processed once the front-end kicks, which it may do itself because the guest already kicked on the source.' },
    description: 'Loops frames, stops both rings with GET_VRING_BASE (the source stopping), makes 8 TX frames and every free RX buffer available, closes the connection; a new session (the destination: no state) negotiates, sends the memory table and starts both rings at the returned bases, then each kick fd is written once: the 8 TX chains must be returned with no further TX kick, and 8 new frames must land in the RX buffers posted before the restore, with no further RX kick.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const rxBase = await rig.session.getVringBase(RX);
        const txBase = await rig.session.getVringBase(TX);
        if (rxBase !== rig.usedIdx(RX) || txBase !== rig.usedIdx(TX)) {
          return fail('GET_VRING_BASE equals used.idx on a quiet pair', `RX base ${rxBase} used ${rig.usedIdx(RX)}, TX base ${txBase} used ${rig.usedIdx(TX)}`);
        }
        rig.reclaim(TX);
        rig.reclaim(RX);
        postRx(rig, RX);
        const frames = Array.from({ length: 8 }, (_, i) => testFrame(300 + i, 64));
        sendFrames(rig, TX, frames, false);
        rig.q(TX).driver.publish();
        rig.session.close();
        // The old session must be gone before the new one starts (one front-end at a time).
        await sleep(ctx.quietMs, ctx.signal);
        const bases = await rig.reattach(await ctx.openSession());
        if (bases.get(RX) !== rxBase || bases.get(TX) !== txBase) {
          return fail('the restored bases are the ones the source returned', `RX ${bases.get(RX)} (source ${rxBase}), TX ${bases.get(TX)} (source ${txBase})`);
        }
        eventfdWrite(rig.q(RX).kickFd);
        eventfdWrite(rig.q(TX).kickFd);
        // TX: the 8 chains must be returned with no further kick (looped, or discarded while the
        // ring was started but not yet enabled, which "Ring states" allows).
        const txBack = await waitUntil(() => { rig.reclaim(TX); return rig.q(TX).driver.inFlight === 0; }, ctx.waitMs, ctx.signal);
        if (!txBack) {
          return fail(`the ${frames.length} TX chains made available before the restore are returned after one kick`, `${rig.q(TX).driver.inFlight} still owned by the device after ${ctx.waitMs} ms (TX used.idx ${rig.usedIdx(TX)})`);
        }
        // RX: new frames must land in the buffers posted before the restore (no RX kick again).
        if (!(await warmUpNoRepost(rig, RX, TX, ctx.waitMs, ctx.signal))) {
          return fail('probe frames land in the RX buffers made available before the restore', `none of up to 32 came back within ${ctx.waitMs} ms (RX used.idx ${rig.usedIdx(RX)})`);
        }
        const more = Array.from({ length: 8 }, (_, i) => testFrame(400 + i, 64));
        sendFrames(rig, TX, more);
        const { back, problems } = await awaitFramesNoRepost(rig, RX, TX, new Map(more.map((f, i) => [400 + i, f])), ctx.waitMs, ctx.signal);
        if (problems.length > 0) return fail('each frame back once, intact', problems.slice(0, 3).join('; '));
        if (back < more.length) {
          return fail(`${more.length} frames land in the RX buffers made available before the restore`, `${back} came back within ${ctx.waitMs} ms (RX used.idx ${rig.usedIdx(RX)})`);
        }
        return verdictOf(trackerCheck(rig));
      });
    },
  },
  // DPDK client mode / DTS pvp_vhost_user_reconnect: a client back-end reconnects by itself.
  {
    id: 'backend/reconnect/client-mode-reconnects',
    title: 'A back-end in client mode reconnects after the front-end went away',
    area: 'reconnect', requirements: ['VU-SESS-006'], level: 'SHOULD', role: 'backend', deviceTypes: NET,
    needs: { mode: 'client', loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'In client mode the back-end connects to the front-end\'s socket and reconnects when the connection is lost.' },
    description: 'Accepts the back-end\'s connection, loops frames, closes the connection, then waits for the back-end to connect again and runs a full setup and traffic on the new connection.',
    timeoutMs: 45_000,
    async run(ctx) {
      const first = await withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const r = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        rig.session.close();
        return r;
      });
      if (first) return fail(first.expected, `precondition: ${first.actual}`);
      let again;
      try {
        again = await withRig(ctx, {}, async (rig) => {
          await rig.startAll();
          return loopCheck(rig, 0, { count: 32, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        });
      } catch (err) {
        return fail('the back-end connects again and accepts a full setup', `no usable reconnection: ${(err as Error).message}`);
      }
      return verdictOf(again && mismatch(again.expected.map((e) => `after reconnecting: ${e}`), again.actual));
    },
  },
  // GET_INFLIGHT_FD: "the back-end allocates a shared area for num_queues × queue_size".
  {
    id: 'backend/reconnect/inflight-region-geometry',
    title: 'GET_INFLIGHT_FD returns one fd and an area big enough for the geometry asked',
    area: 'reconnect', requirements: ['VU-RECON-001'], level: 'MUST', role: 'backend', needs: { protocolFeatures: [INFLIGHT] },
    spec: { doc: 'vhost-user', anchor: 'Inflight I/O tracking', quote: 'GET_INFLIGHT_FD returns an fd and mmap_size/mmap_offset of a shared area tracking num_queues queues of queue_size entries.' },
    description: 'Negotiates INFLIGHT_SHMFD and sends GET_INFLIGHT_FD for 2 queues of 64: the reply must carry exactly one fd and mmap_size ≥ 2 × (16 + 16·64).',
    async run(ctx) {
      const s = await ctx.openSession();
      await negotiate(s, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, INFLIGHT) });
      const reply = await s.call(FrontendRequest.GET_INFLIGHT_FD, inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues: 2, queueSize: 64 }), inflight.SIZE);
      for (const fd of reply.fds) closeFd(fd);
      const info = inflight.decode(reply.body);
      const need = 2 * inflightRegionMinSize(64, false);
      if (reply.fds.length !== 1) return fail('GET_INFLIGHT_FD reply carries exactly one fd', `${reply.fds.length} fd(s)`);
      if (info.mmapSize < BigInt(need)) return fail(`mmap_size ≥ ${need} for 2 split queues of 64`, `mmap_size ${info.mmapSize}`);
      return pass();
    },
  },
  // DPDK c47edd04: a front-end may negotiate INFLIGHT_SHMFD and never use it.
  {
    id: 'backend/reconnect/inflight-negotiated-but-unused',
    title: 'INFLIGHT_SHMFD negotiated but never set up: the device still works',
    area: 'reconnect', requirements: ['VU-RECON-008'], level: 'SHOULD', role: 'backend', deviceTypes: NET,
    needs: { protocolFeatures: [INFLIGHT], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Inflight I/O tracking', quote: 'The inflight area is set up by GET/SET_INFLIGHT_FD; a front-end that skips them must still get a working device.' },
    description: 'Negotiates INFLIGHT_SHMFD, sends neither GET_INFLIGHT_FD nor SET_INFLIGHT_FD, and loops frames.',
    async run(ctx) {
      return withRig(ctx, { protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, INFLIGHT) }, async (rig) => {
        await rig.startAll();
        return verdictOf(await loopCheck(rig, 0, { count: 32, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal }));
      });
    },
  },
]);



/**
 * vhost-user.rst SET_VRING_KICK / SET_VRING_CALL / SET_VRING_ERR: the u64 payload carries the
 * ring index in bits 0–7 and the "invalid fd" flag in bit 8 (CHECKLIST §5.7, VU-FD-*). Without an
 * fd the back-end polls (kick) or signals nothing (call); a replaced fd is closed.
 * @module
 */
import { closeFd, eventfdCreate } from '../../native/index.js';
import { FrontendRequest, u64 } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { PROBE_SEQ, loopCheck, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { FdProbe, stillOpen } from '../verify/ring-fd-probe.js';
import { expectRefused, sendForAck, stillServes } from '../verify/ring-outcome.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass, skip, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { sleep, takeSignals, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const NOFD = 0x100n;
const ANCHOR = 'SET_VRING_KICK';

/** The invalid-fd flag cases. */
export const vringFdFlagCases: readonly ConformanceCase[] = Object.freeze([
  // "Bits (0-7) of the payload contain the vring index. Bit 8 is the invalid FD flag."
  {
    id: 'backend/vring-fd/call-nofd-flag-applies-to-ring',
    title: 'SET_VRING_CALL 0x101 replaces ring 1\'s call fd with "none"',
    area: 'vring-fd-flag', requirements: ['VU-FD-001', 'VU-FD-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_CALL', quote: 'Bits 0–7 of the payload are the ring index, bit 8 the invalid-fd flag; with the flag set no fd is passed and the front-end polls.' },
    description: 'Loops frames with a call eventfd on TX ring 1 (which is signalled), then sends SET_VRING_CALL with u64 0x101: later completions must not signal the old eventfd, and frames still flow.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await sleep(20, ctx.signal);
        if (takeSignals(rig.q(TX).callFd) === 0) return skip('the back-end never signalled TX ring 1\'s call fd, so a change cannot be observed (see the notification cases)');
        await rig.session.setVringFd(FrontendRequest.SET_VRING_CALL, TX, undefined);
        const again = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 100, warm: true, timeoutMs: ctx.waitMs, signal: ctx.signal });
        await sleep(ctx.quietMs, ctx.signal);
        const calls = takeSignals(rig.q(TX).callFd);
        if (calls !== 0) return fail('the old call fd of ring 1 is not signalled after SET_VRING_CALL u64 0x101 (ring 1, no fd)', `it was signalled ${calls} time(s)`);
        return verdictOf(again);
      });
    },
  },
  // SET_VRING_KICK: "... When the invalid FD flag is set, ... the back-end must poll the ring."
  {
    id: 'backend/vring-fd/kick-nofd-means-polling',
    title: 'Without a kick fd the back-end polls the avail ring',
    area: 'vring-fd-flag', requirements: ['VU-FD-002'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: ANCHOR, quote: 'If the invalid FD flag is set in SET_VRING_KICK, there is no kick fd and the back-end polls the ring.' },
    description: 'Starts both rings with SET_VRING_KICK u64 = index | 0x100 and no fd, then loops frames without any kick.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll({ kick: 'nofd' });
        postRx(rig, RX);
        sendFrames(rig, TX, [testFrame(1, 64)]);
        if (!(await waitUntil(() => rig.usedIdx(TX) === 1, ctx.waitMs, ctx.signal))) {
          return fail('a TX chain published on a ring without kick fd is used (the back-end polls)', `TX used.idx ${rig.usedIdx(TX)} after ${ctx.waitMs} ms`);
        }
        return verdictOf(await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 10, timeoutMs: ctx.waitMs, signal: ctx.signal }));
      });
    },
  },
  // SET_VRING_CALL with the flag: no call fd; the front-end polls the used ring.
  {
    id: 'backend/vring-fd/call-nofd-means-no-notification',
    title: 'Without a call fd completions still happen and nothing breaks',
    area: 'vring-fd-flag', requirements: ['VU-FD-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_CALL', quote: 'If the invalid FD flag is set, there is no call fd; the front-end polls the used ring.' },
    description: 'Starts both rings with SET_VRING_CALL u64 = index | 0x100 and no fd; frames loop and the session keeps answering.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll({ call: 'nofd' });
        const loop = await loopCheck(rig, 0, { count: 32, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return verdictOf(loop, await stillServes(rig.session, () => ctx.openSession()));
      });
    },
  },
  // DPDK's expected-fd logic: flag set + fd attached → the fd is not used and must be closed.
  {
    id: 'backend/vring-fd/nofd-flag-with-fd-closes-fd',
    title: 'An fd sent along with the invalid-fd flag is closed',
    area: 'vring-fd-flag', requirements: ['VU-FD-004'], level: 'SHOULD', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: ANCHOR, quote: 'With the invalid FD flag set no fd is expected; one that comes anyway must not be used or kept.' },
    description: 'Sends SET_VRING_KICK and SET_VRING_CALL for ring 0 with bit 8 set and a pipe write end attached; both pipes must hang up.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.configureRing(RX, { kick: 'skip', call: 'skip' });
        const probes = [new FdProbe(), new FdProbe()];
        for (const [i, req] of [FrontendRequest.SET_VRING_KICK, FrontendRequest.SET_VRING_CALL].entries()) {
          await sendForAck(rig.session, req, u64.encode(NOFD | 0n), [probes[i].writeFd]);
          probes[i].sent();
        }
        const open = await stillOpen(probes, ctx.waitMs);
        if (open.length > 0) return fail('the fds attached to SET_VRING_KICK / SET_VRING_CALL with bit 8 set are closed', `${open.map((i) => ['the KICK fd', 'the CALL fd'][i]).join(' and ')} still open after ${ctx.waitMs} ms`);
        return pass();
      });
    },
  },
  // spdk/spdk#1061: flag clear but no fd must fail rather than use a stale or random fd.
  {
    id: 'backend/vring-fd/missing-fd-rejected',
    title: 'SET_VRING_KICK / CALL without the flag and without an fd are refused',
    area: 'vring-fd-flag', requirements: ['VU-FD-005'], level: 'SHOULD', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: ANCHOR, quote: 'Without the invalid FD flag an fd is passed in the ancillary data; a message missing it is invalid.' },
    description: 'Sends SET_VRING_KICK and SET_VRING_CALL for ring 0 with bit 8 clear and no fd, with NEED_REPLY: each must get a non-zero ack or a close.',
    timeoutMs: 30_000,
    async run(ctx) {
      const checks: CheckResult[] = [];
      for (const req of [FrontendRequest.SET_VRING_KICK, FrontendRequest.SET_VRING_CALL]) {
        const r = await withRig(ctx, {}, async (rig) => {
          await rig.configureRing(RX, { kick: 'skip', call: 'skip' });
          return expectRefused('with bit 8 clear and no fd', req, await sendForAck(rig.session, req, u64.encode(0n)));
        });
        checks.push(r);
      }
      return verdictOf(...checks);
    },
  },
  // Bits 9–63 are unspecified (CHECKLIST D9): never an index, never a crash.
  {
    id: 'backend/vring-fd/upper-bits-never-an-index',
    title: 'Bits 9–63 of the kick/call u64 do not turn into a ring index',
    area: 'vring-fd-flag', requirements: ['VU-FD-006'], level: 'ROBUST', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: ANCHOR, quote: 'Only bits 0–7 are the ring index and bit 8 the flag; the rest is unspecified.' },
    description: 'Sends SET_VRING_CALL with u64 0xFFFFFFFFFFFFFF00 (ring 0, flag, junk) and 0x200 (ring 0, bit 9) with an eventfd; any answer is fine, the back-end must keep serving.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.configureRing(RX, { kick: 'skip', call: 'skip' });
        await sendForAck(rig.session, FrontendRequest.SET_VRING_CALL, u64.encode(0xffff_ffff_ffff_ff00n));
        const efd = eventfdCreate();
        try {
          if (!rig.session.connection.isBroken) await sendForAck(rig.session, FrontendRequest.SET_VRING_CALL, u64.encode(0x200n), [efd]);
        } finally {
          closeFd(efd);
        }
        const serves = await stillServes(rig.session, () => ctx.openSession());
        if (ctx.peerAlive() === false) return fail('the back-end process survives', 'it exited');
        return verdictOf(serves);
      });
    },
  },
  // DPDK bc900f86 "fix fd leak in kick setup": a replaced kick, call or err fd must be closed.
  {
    id: 'backend/vring-fd/replaced-fds-closed',
    title: 'Replacing a kick, call or err fd closes the previous one',
    area: 'vring-fd-flag', requirements: ['VU-FD-007', 'VU-FD-008'], level: 'MUST', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_CALL', quote: 'A new kick/call/err fd replaces the previous one (which the back-end no longer needs).' },
    description: 'Sends pipe write ends as ring 0\'s kick, call and err fds, then replaces each with a fresh eventfd: all three pipes must hang up.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.configureRing(RX, { kick: 'skip', call: 'skip' });
        const probes = [new FdProbe(), new FdProbe(), new FdProbe()];
        const reqs = [FrontendRequest.SET_VRING_KICK, FrontendRequest.SET_VRING_CALL, FrontendRequest.SET_VRING_ERR];
        for (const [i, req] of reqs.entries()) {
          await rig.session.setVringFd(req, RX, probes[i].writeFd);
          probes[i].sent();
        }
        const errFd = eventfdCreate();
        try {
          await rig.session.setVringFd(FrontendRequest.SET_VRING_KICK, RX, rig.q(RX).kickFd);
          await rig.session.setVringFd(FrontendRequest.SET_VRING_CALL, RX, rig.q(RX).callFd);
          await rig.session.setVringFd(FrontendRequest.SET_VRING_ERR, RX, errFd);
        } finally {
          closeFd(errFd);
        }
        const open = await stillOpen(probes, ctx.waitMs);
        if (open.length > 0) return fail('the replaced kick, call and err fds of ring 0 are closed', `${open.map((i) => ['kick', 'call', 'err'][i]).join(', ')} fd still open ${ctx.waitMs} ms after its replacement`);
        return pass();
      });
    },
  },
  // ID 13 SET_VRING_CALL: the new call fd replaces the old one, and completions after the switch
  // are signalled on it, also when the switch lands while completions are pending (SPDK dbe47004,
  // DPDK 0445f818 fixed back-ends that kept signalling a stale fd and stalled the guest).
  {
    id: 'backend/vring-fd/call-fd-swapped-under-traffic',
    title: 'A call fd swapped while frames are in flight is signalled for later completions',
    area: 'vring-fd-flag', requirements: ['VU-RING-018'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_CALL', quote: 'Set the event file descriptor to signal when buffers are used; the new fd replaces any previous one.' },
    description: 'Loops frames with call fds on both rings, publishes 16 more TX frames and at once replaces both call fds with new eventfds; then loops 16 frames: each ring\'s new call fd must be signalled (signals still arriving on the old fds are noted).',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const fresh = [eventfdCreate(), eventfdCreate()];
        try {
          sendFrames(rig, TX, Array.from({ length: 16 }, () => testFrame(PROBE_SEQ, 64)));
          await rig.session.setVringFd(FrontendRequest.SET_VRING_CALL, RX, fresh[0]);
          await rig.session.setVringFd(FrontendRequest.SET_VRING_CALL, TX, fresh[1]);
          const oldBefore = [RX, TX].map((r) => takeSignals(rig.q(r).callFd));
          // A signal sent at the switch itself (some back-ends send one to cover a completion that
          // raced it) does not show that later completions reach the new fd: drop it.
          for (const fd of fresh) takeSignals(fd);
          const bad = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 1000, warm: true, timeoutMs: ctx.waitMs, signal: ctx.signal });
          if (bad) return fail(bad.expected.map((e) => `after the call-fd swap: ${e}`), bad.actual);
          const got = [0, 0];
          await waitUntil(() => {
            for (const i of [0, 1]) got[i] += takeSignals(fresh[i]);
            return got[0] > 0 && got[1] > 0;
          }, ctx.waitMs, ctx.signal);
          const oldAfter = [RX, TX].map((r) => takeSignals(rig.q(r).callFd));
          ctx.note(`signals: new RX ${got[0]}, new TX ${got[1]}; old RX ${oldBefore[0]}+${oldAfter[0]}, old TX ${oldBefore[1]}+${oldAfter[1]} (before+after the loop)`);
          for (const [i, ring] of [RX, TX].entries()) {
            if (got[i] === 0) return fail(`ring ${ring}'s new call fd is signalled for completions after SET_VRING_CALL`, `no signal on it within ${ctx.waitMs} ms (old fd: ${oldBefore[i] + oldAfter[i]} signal(s) after the swap)`);
          }
          return pass();
        } finally {
          for (const fd of fresh) closeFd(fd);
        }
      });
    },
  },
]);



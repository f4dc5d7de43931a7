/**
 * vhost-user.rst "Ring states" and the ring messages (SET_VRING_NUM/BASE/KICK, GET_VRING_BASE,
 * SET_VRING_ENABLE): when a ring starts and stops, which index GET_VRING_BASE returns, where
 * SET_VRING_BASE resumes, what disabled rings may do (CHECKLIST §5.6, VU-RING-*). Driven through
 * a net device's pair 0 (RX = ring 0, TX = ring 1).
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { FrontendRequest, vringBase, vringState } from '../../fakes/wire/index.js';
import { negotiate, type FrontendSession } from '../../fakes/frontend/index.js';
import { VirtioFeature, featureMask, ProtocolFeature } from '../../fakes/wire/index.js';
import type { CaseContext, ConformanceCase } from '../model.js';
import { loopCheck, postRx, sendFrames, testFrame, trackerCheck } from '../verify/data-net-loop.js';
import { expectAccepted, expectRefused, sendForAck, stillServes } from '../verify/ring-outcome.js';
import { PackedPair } from '../verify/data-packed-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { sleep, takeSignals, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Opens a session and negotiates VERSION_1 + REPLY_ACK (nothing else). */
export async function negotiatedSession(ctx: CaseContext): Promise<FrontendSession> {
  const s = await ctx.openSession();
  await negotiate(s, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK) });
  return s;
}

/** Number of rings the peer advertises (net: GET_QUEUE_NUM counts pairs, CHECKLIST D7). */
export const advertisedRings = (ctx: CaseContext): number => (ctx.peer.deviceType === 'net' ? 2 * ctx.peer.queueNum : ctx.peer.queueNum);

/** A packed vring base in words, for failure text. */
function describePackedBase(v: number): string {
  const b = vringBase.decodePackedBase(v);
  return `avail ${b.availIdx} wrap ${b.availWrap ? 1 : 0}, used ${b.usedIdx} wrap ${b.usedWrap ? 1 : 0}`;
}

/** The ring-state cases. */
export const ringStateCases: readonly ConformanceCase[] = Object.freeze([
  // "Each ring is initialized in a stopped and disabled state." A ring starts only with its
  // kick fd (SET_VRING_KICK); until then nothing published may be consumed.
  {
    id: 'backend/ring-states/starts-stopped-without-kick',
    title: 'A ring without SET_VRING_KICK consumes nothing',
    area: 'ring-lifecycle', requirements: ['VU-RING-001'], level: 'MUST', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'Each ring is initialized in a stopped and disabled state; it starts once SET_VRING_KICK has been received.' },
    description: 'Sends NUM, BASE, ADDR, CALL and ENABLE for both rings of pair 0 but no SET_VRING_KICK, publishes TX frames and RX buffers, and watches both used rings through the quiet window.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.configureRing(RX, { kick: 'skip' });
        await rig.configureRing(TX, { kick: 'skip' });
        const before = [rig.usedRingBytes(RX), rig.usedRingBytes(TX)];
        rig.q(RX).driver.publish();
        postRx(rig, RX);
        sendFrames(rig, TX, [0, 1, 2, 3].map((i) => testFrame(i, 64)));
        await sleep(ctx.quietMs, ctx.signal);
        for (const [i, ring] of [RX, TX].entries()) {
          if (!bytesEqual(before[i], rig.usedRingBytes(ring))) {
            return fail(`used ring ${ring} untouched for ${ctx.quietMs} ms while no SET_VRING_KICK was sent`, `used ring ${ring} changed (used.idx ${rig.usedIdx(ring)})`);
          }
        }
        return pass();
      });
    },
  },
  // T1 text: "The back-end starts a ring on SET_VRING_KICK ... back-ends SHOULD NOT rely on
  // receiving a kick" (CHECKLIST D2).
  {
    id: 'backend/ring-states/starts-on-set-vring-kick',
    title: 'Buffers published before SET_VRING_KICK are processed without a kick',
    area: 'ring-lifecycle', requirements: ['VU-RING-002'], level: 'SHOULD', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'A ring starts when SET_VRING_KICK is received; back-ends should not rely on a kick to begin processing buffers made available before.' },
    description: 'Publishes TX frames before SET_VRING_KICK and never writes the kick eventfd; the frames must be consumed within the wait bound.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.configureRing(RX, { kick: 'skip' });
        await rig.configureRing(TX, { kick: 'skip' });
        sendFrames(rig, TX, [0, 1, 2, 3].map((i) => testFrame(i, 64)), false);
        rig.q(TX).driver.publish(); // no kick: the eventfd stays at 0
        await rig.session.setVringFd(FrontendRequest.SET_VRING_KICK, RX, rig.q(RX).kickFd);
        await rig.session.setVringFd(FrontendRequest.SET_VRING_KICK, TX, rig.q(TX).kickFd);
        if (!(await waitUntil(() => rig.usedIdx(TX) === 4, ctx.waitMs, ctx.signal))) {
          return fail('the 4 TX chains published before SET_VRING_KICK are used without a kick', `TX used.idx ${rig.usedIdx(TX)} after ${ctx.waitMs} ms`);
        }
        return pass();
      });
    },
  },
  // GET_VRING_BASE: "Stops the vring and returns the current descriptor index or indices."
  {
    id: 'backend/ring-states/get-vring-base-stops-ring',
    title: 'After GET_VRING_BASE the ring is neither consumed nor signalled',
    area: 'ring-lifecycle', requirements: ['VU-RING-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'GET_VRING_BASE', quote: 'Stops the vring and returns the current descriptor index; after the reply the back-end must not process the ring.' },
    description: 'Loops frames, stops TX ring 1 with GET_VRING_BASE, then publishes and kicks more TX frames: used.idx and the call fd must stay still through the quiet window.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await rig.session.getVringBase(TX);
        const used = rig.usedIdx(TX);
        takeSignals(rig.q(TX).callFd);
        sendFrames(rig, TX, [100, 101, 102, 103].map((i) => testFrame(i, 64)));
        eventfdWrite(rig.q(TX).kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        const after = rig.usedIdx(TX);
        const calls = takeSignals(rig.q(TX).callFd);
        if (after !== used) return fail(`TX used.idx stays ${used} after GET_VRING_BASE`, `TX used.idx moved to ${after} within ${ctx.quietMs} ms`);
        if (calls !== 0) return fail('no call-fd signal for ring 1 after GET_VRING_BASE', `${calls} signal(s) within ${ctx.quietMs} ms`);
        return pass();
      });
    },
  },
  // "vring descriptor index for split virtqueues": bits 0–15 hold the next available index the
  // device would consume (free-running, so it wraps at 65536).
  {
    id: 'backend/ring-states/get-vring-base-index-and-wrap',
    title: 'GET_VRING_BASE returns the next avail index, across the 16-bit wrap',
    area: 'ring-lifecycle', requirements: ['VU-RING-004'], level: 'MUST', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: 'Vring descriptor indices for split virtqueues', quote: 'For split virtqueues the index is the next available-ring index the back-end will process, a free-running 16-bit value.' },
    description: 'Makes 37 TX chains available, waits until all are used and stops the ring (expects 37); restarts it at base 65530, makes 12 more available and stops again (expects 6).',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        postRx(rig, RX);
        const frames = (n: number, from: number): Uint8Array[] => Array.from({ length: n }, (_, i) => testFrame(from + i, 64));
        sendFrames(rig, TX, frames(37, 0));
        if (!(await waitUntil(() => rig.usedIdx(TX) === 37, ctx.waitMs, ctx.signal))) {
          return fail('37 TX chains used', `TX used.idx ${rig.usedIdx(TX)} after ${ctx.waitMs} ms`);
        }
        const first = await rig.session.getVringBase(TX);
        if (first !== 37) return fail('GET_VRING_BASE(1) = 37 after 37 chains were used', `${first} (0x${first.toString(16)})`);
        rig.resetRing(TX, 65530);
        await rig.configureRing(TX, { base: 65530 });
        sendFrames(rig, TX, frames(12, 100));
        if (!(await waitUntil(() => rig.usedIdx(TX) === 6, ctx.waitMs, ctx.signal))) {
          return fail('12 TX chains used from base 65530 (used.idx wraps to 6)', `TX used.idx ${rig.usedIdx(TX)} after ${ctx.waitMs} ms`);
        }
        const second = await rig.session.getVringBase(TX);
        if (second !== 6) return fail('GET_VRING_BASE(1) = 6 (65530 + 12 mod 65536, bits 16–31 zero)', `${second} (0x${second.toString(16)})`);
        return verdictOf(trackerCheck(rig, [TX]));
      });
    },
  },
  // SET_VRING_BASE: "Sets the next index to use for descriptors in this vring."
  {
    id: 'backend/ring-states/set-vring-base-resumes-from-base',
    title: 'SET_VRING_BASE sets where consumption starts',
    area: 'ring-lifecycle', requirements: ['VU-RING-007'], level: 'MUST', role: 'backend', deviceTypes: NET,
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_BASE', quote: 'Sets the next index to use for descriptors in this vring; entries before it are not processed.' },
    description: 'Publishes 8 TX chains (avail.idx 8) with used.idx 5 and starts the ring at base 5: exactly the heads in slots 5, 6 and 7 are used.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        rig.resetRing(TX, 0, 5);
        const heads = sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(i, 64)), false);
        rig.q(TX).driver.publish();
        await rig.configureRing(RX);
        await rig.configureRing(TX, { base: 5 });
        const reached = await waitUntil(() => rig.usedIdx(TX) === 8, ctx.waitMs, ctx.signal);
        await sleep(ctx.quietMs, ctx.signal);
        const idx = rig.usedIdx(TX);
        const ids = rig.reclaim(TX).map((e) => e.id);
        const want = heads.slice(5);
        if (!reached || idx !== 8) return fail('TX used.idx goes from 5 to 8 and stays there', `used.idx ${idx}`);
        if (ids.join(',') !== want.join(',')) return fail(`used ids ${want.join(', ')} (the heads in avail slots 5–7)`, `used ids ${ids.join(', ') || 'none'}`);
        return pass();
      });
    },
  },
  // Virtio: a split queue size is a power of two up to 32768; SET_VRING_NUM should refuse others.
  {
    id: 'backend/ring-states/queue-size-validation',
    title: 'SET_VRING_NUM accepts 256 and 32768 and refuses 0, 3, 1000, 32769, 65535 for split rings',
    area: 'ring-lifecycle', requirements: ['VU-RING-009'], level: 'SHOULD', role: 'backend',
    spec: { doc: 'virtio', anchor: '2.7', quote: 'Queue Size of a split virtqueue is a power of 2 no larger than 32768.' },
    description: 'Sends SET_VRING_NUM for ring 0 with each size and NEED_REPLY; valid sizes must be acked 0, invalid ones refused (non-zero ack or close).',
    timeoutMs: 40_000,
    async run(ctx) {
      let s = await negotiatedSession(ctx);
      const checks: CheckResult[] = [];
      for (const num of [256, 32768, 0, 3, 1000, 32769, 65535]) {
        const o = await sendForAck(s, FrontendRequest.SET_VRING_NUM, vringState.encode({ index: 0, num }));
        checks.push(num === 256 || num === 32768 ? expectAccepted(`num ${num}`, FrontendRequest.SET_VRING_NUM, o) : expectRefused(`num ${num}`, FrontendRequest.SET_VRING_NUM, o));
        if (o.kind !== 'ack') { s.close(); s = await negotiatedSession(ctx); }
      }
      return verdictOf(...checks);
    },
  },
  // "If a ring is started but disabled, the back-end must process the ring without causing any
  // side effects. For example, for a networking device, in the disabled state the back-end must
  // not supply any new RX packets, but must process and discard any TX packets."
  {
    id: 'backend/ring-states/disabled-tx-ring-no-side-effects',
    title: 'A disabled TX ring transmits nothing',
    area: 'ring-lifecycle', requirements: ['VU-RING-011', 'VU-NET-005'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'A started but disabled ring is processed without side effects: TX packets are discarded, not transmitted.' },
    description: 'Loops frames, disables TX ring 1 with SET_VRING_ENABLE 0, sends more frames: none may come back on RX ring 0 during the quiet window.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await rig.session.setVringEnable(TX, false);
        const rxUsed = rig.usedIdx(RX);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(200 + i, 64)));
        await sleep(ctx.quietMs, ctx.signal);
        const after = rig.usedIdx(RX);
        if (after !== rxUsed) return fail('no frame from disabled TX ring 1 reaches RX ring 0', `RX used.idx moved from ${rxUsed} to ${after}`);
        return pass();
      });
    },
  },
  {
    id: 'backend/ring-states/disabled-tx-ring-consumes-and-discards',
    title: 'A disabled TX ring still consumes and returns its buffers',
    area: 'ring-lifecycle', requirements: ['VU-RING-011'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'In the disabled state the back-end must not supply new RX packets, but must process and discard any TX packets.' },
    description: 'Loops frames, disables TX ring 1, sends 8 frames: all 8 TX chains must be returned within the wait bound.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await rig.session.setVringEnable(TX, false);
        const used = rig.usedIdx(TX);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(300 + i, 64)));
        if (!(await waitUntil(() => ((rig.usedIdx(TX) - used) & 0xffff) === 8, ctx.waitMs, ctx.signal))) {
          return fail('the 8 TX chains on disabled ring 1 are used (processed and discarded)', `TX used.idx ${rig.usedIdx(TX)} (was ${used}) after ${ctx.waitMs} ms`);
        }
        return pass();
      });
    },
  },
  {
    id: 'backend/ring-states/disabled-rx-ring-not-filled',
    title: 'A disabled RX ring receives nothing',
    area: 'ring-lifecycle', requirements: ['VU-RING-011', 'VU-NET-005'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'In the disabled state the back-end must not supply any new RX packets.' },
    description: 'Loops frames, disables RX ring 0 with SET_VRING_ENABLE 0, sends more frames: RX used.idx and the posted buffers stay unchanged.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await rig.session.setVringEnable(RX, false);
        await sleep(20, ctx.signal);
        const rxUsed = rig.usedIdx(RX);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(400 + i, 64)));
        await sleep(ctx.quietMs, ctx.signal);
        const after = rig.usedIdx(RX);
        if (after !== rxUsed) return fail('disabled RX ring 0 receives no frame', `RX used.idx moved from ${rxUsed} to ${after}`);
        return pass();
      });
    },
  },
  // A vring index beyond the queues the back-end has must be rejected (CVE-2020-10723 class).
  {
    id: 'backend/ring-states/bad-ring-index-rejected',
    title: 'Ring messages with an index beyond the advertised rings are refused',
    area: 'ring-lifecycle', requirements: ['VU-RING-013'], level: 'MUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Multiple queue support', quote: 'Ring indices are below the number of queues the back-end supports; others are invalid.' },
    description: 'Sends SET_VRING_NUM, SET_VRING_BASE and SET_VRING_ENABLE with index = the advertised ring count and 0xFFFFFFFF, with NEED_REPLY; each must be refused, and the back-end must keep serving.',
    timeoutMs: 60_000,
    async run(ctx) {
      const indices = [advertisedRings(ctx), 0xffffffff];
      const checks: CheckResult[] = [];
      let s = await negotiatedSession(ctx);
      for (const index of indices) {
        for (const req of [FrontendRequest.SET_VRING_NUM, FrontendRequest.SET_VRING_BASE, FrontendRequest.SET_VRING_ENABLE]) {
          const num = req === FrontendRequest.SET_VRING_NUM ? 64 : req === FrontendRequest.SET_VRING_ENABLE ? 1 : 0;
          const o = await sendForAck(s, req, vringState.encode({ index, num }));
          checks.push(expectRefused(`index ${index}`, req, o));
          if (o.kind !== 'ack') { s.close(); s = await negotiatedSession(ctx); }
        }
      }
      checks.push(await stillServes(s, () => ctx.openSession()));
      if (ctx.peerAlive() === false) checks.push(mismatch('the back-end process survives', 'it exited'));
      return verdictOf(...checks);
    },
  },
  // DPDK 3c929a0b: GET_VRING_BASE on a ring never set up crashed back-ends.
  {
    id: 'backend/ring-states/get-vring-base-unconfigured-ring',
    title: 'GET_VRING_BASE on a ring that was never configured does not crash',
    area: 'ring-lifecycle', requirements: ['VU-RING-014'], level: 'ROBUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'GET_VRING_BASE', quote: 'Stops the vring and returns the current descriptor index (no spec text covers an unconfigured ring).' },
    description: 'Fresh session: GET_VRING_BASE for ring 0 (in range for every device type) with no memory table and no ring set up; any answer or a close is fine as long as the back-end keeps serving.',
    async run(ctx) {
      const s = await negotiatedSession(ctx);
      let outcome = 'replied';
      try {
        // Ring 0 exists on every device: an out-of-range index is another case (bad-ring-index-rejected).
        const base = await s.getVringBase(0);
        outcome = `replied ${base}`;
      } catch (err) {
        outcome = `failed: ${(err as Error).message}`;
      }
      ctx.note(`GET_VRING_BASE(0) on an unconfigured ring: ${outcome}`);
      const serves = await stillServes(s, () => ctx.openSession());
      if (ctx.peerAlive() === false) return fail('the back-end process survives', `it exited (GET_VRING_BASE ${outcome})`);
      return verdictOf(serves);
    },
  },
  // "Ring states": a stopped ring is restarted with SET_VRING_BASE and SET_VRING_KICK.
  {
    id: 'backend/ring-states/restart-resumes-from-base',
    title: 'Rings stopped with GET_VRING_BASE restart from the returned base',
    area: 'ring-lifecycle', requirements: ['VU-RING-017'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'A stopped ring is started again by SET_VRING_BASE and SET_VRING_KICK (with NUM/ADDR when they changed) and resumes from the given base.' },
    description: 'Loops frames, stops both rings, restarts each with the base GET_VRING_BASE returned, and loops frames again.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const first = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (first) return fail(first.expected, `precondition: ${first.actual}`);
        const rxBase = await rig.session.getVringBase(RX);
        const txBase = await rig.session.getVringBase(TX);
        if (txBase !== rig.q(TX).driver.availIdx) {
          return fail(`GET_VRING_BASE(1) = ${rig.q(TX).driver.availIdx} (every TX chain was used)`, `${txBase}`);
        }
        rig.resetRing(RX, rxBase);
        rig.resetRing(TX, txBase);
        await rig.configureRing(RX, { base: rxBase });
        await rig.configureRing(TX, { base: txBase });
        const again = await loopCheck(rig, 0, { count: 32, size: 128, firstSeq: 1000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return verdictOf(again && mismatch(again.expected.map((e) => `after restart: ${e}`), again.actual), trackerCheck(rig));
      });
    },
  },
  // GET_VRING_BASE (T1 text, long-standing QEMU expectation): by default the back-end finishes
  // every request it took from the ring before it answers, so the used index it leaves equals
  // the base it returns; a back-end that answers with chains still in flight strands them.
  {
    id: 'backend/ring-states/get-vring-base-after-in-flight-completed',
    title: 'GET_VRING_BASE answers only after every chain it took is used: used.idx equals the base',
    area: 'ring-lifecycle', requirements: ['VU-RING-005'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'GET_VRING_BASE', quote: 'Stops the vring and returns the next descriptor index; by default the back-end completes all in-flight requests of the ring before replying.' },
    description: 'Loops frames to warm up, then 8 times: makes 32 TX chains available and at once sends GET_VRING_BASE for TX and then RX, and reads each used.idx as soon as the reply is in: it must equal the returned base (every chain taken was used). Each ring is restarted at its base between rounds.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        let seq = 100;
        for (let round = 0; round < 8; round++) {
          rig.reclaim(TX);
          sendFrames(rig, TX, Array.from({ length: Math.min(32, rig.q(TX).freeBufs.length) }, () => testFrame(seq++, 64)));
          const bases = new Map<number, number>();
          for (const ring of [TX, RX]) {
            const base = await rig.session.getVringBase(ring);
            // Read at once: a back-end still completing after its reply moves used.idx later.
            const used = rig.usedIdx(ring);
            if (used !== (base & 0xffff)) {
              return fail(`round ${round + 1}: ring ${ring} used.idx equals the base GET_VRING_BASE returned`, `base ${base}, used.idx ${used} right after the reply`);
            }
            bases.set(ring, base);
          }
          for (const ring of [RX, TX]) {
            rig.resetRing(ring, bases.get(ring)!);
            await rig.configureRing(ring, { base: bases.get(ring)! });
          }
          postRx(rig, RX);
        }
        const again = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 1000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return verdictOf(again && mismatch(again.expected.map((e) => `after 8 stops: ${e}`), again.actual));
      });
    },
  },
  // "Vring descriptor indices for packed virtqueues": GET_VRING_BASE of a packed ring reports
  // both positions with both wrap counters, and SET_VRING_BASE with that value resumes exactly
  // there. Stopped mid-lap (wrap counters 0), with RX buffers still available.
  {
    id: 'backend/ring-states/packed-base-mid-wrap',
    title: 'Packed rings: GET_VRING_BASE reports both indices and wrap counters, and the rings resume from them',
    area: 'ring-lifecycle', requirements: ['VU-RING-008', 'VU-PK-011'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'vhost-user', anchor: 'Vring descriptor indices for packed virtqueues', quote: 'Bits 0–14: index of the next available descriptor the back-end will process; bit 15: driver wrap counter; bits 16–30: index of the next used descriptor it will write; bit 31: device wrap counter.' },
    description: 'Loops frames through 64-entry packed rings, then three times stops both rings with GET_VRING_BASE at a different slot mid-lap, compares each value with the driver\'s position (every taken buffer is used, so both halves name the next used slot and its wrap counter), restarts with the returned value and loops more frames: none may be lost, repeated or used from a slot not made available.',
    timeoutMs: 40_000,
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const formats: string[] = [];
        for (const [round, count] of [100, 100, 50].entries()) {
          const bad = await pair.loop(ctx, count, 64, round * 1000);
          if (bad) return fail(bad.expected.map((e) => (round === 0 ? e : `after restart ${round}: ${e}`)), bad.actual);
          const bases = await pair.stop();
          pair.drainUsed();
          for (const r of pair.rings) {
            const p = r.driver.position();
            const want = vringBase.encodePackedBase({ availIdx: p.nextUsed, availWrap: p.usedWrap, usedIdx: p.nextUsed, usedWrap: p.usedWrap });
            const got = bases.get(r.index)!;
            if (got !== want) formats.push(`stop ${round + 1}, ring ${r.index}: 0x${got.toString(16).padStart(8, '0')} (${describePackedBase(got)}), want 0x${want.toString(16).padStart(8, '0')} (${describePackedBase(want)})`);
          }
          // Restart from what the back-end said, as a front-end must.
          await pair.start(bases);
        }
        const last = await pair.loop(ctx, 50, 64, 5000);
        if (last) return fail(last.expected.map((e) => `after restart 3: ${e}`), last.actual);
        return formats.length === 0 ? pass() : fail('GET_VRING_BASE of a packed ring: bits 0–14 avail index, 15 avail wrap, 16–30 used index, 31 used wrap', formats.slice(0, 3).join('; '));
      } finally {
        pair.close();
      }
    },
  },
  // The device must handle spurious notifications (virtio), and the front-end may kick at any time.
  {
    id: 'backend/ring-states/spurious-kicks-harmless',
    title: '1000 kicks with nothing new change nothing',
    area: 'ring-lifecycle', requirements: ['VU-RING-019', 'VU-EVT-006'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'The front-end may write a kick fd at any time; the device must handle spurious notifications.' },
    description: 'Loops frames, then writes both kick eventfds 1000 times with no new buffers: the used indices stay still, and frames still loop afterwards.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        await sleep(20, ctx.signal);
        const before = [rig.usedIdx(RX), rig.usedIdx(TX)];
        for (let i = 0; i < 1000; i++) {
          eventfdWrite(rig.q(TX).kickFd);
          eventfdWrite(rig.q(RX).kickFd);
          if (i % 100 === 99) await sleep(1);
        }
        await sleep(ctx.quietMs, ctx.signal);
        const after = [rig.usedIdx(RX), rig.usedIdx(TX)];
        if (after[0] !== before[0] || after[1] !== before[1]) {
          return fail(`used.idx stays RX ${before[0]} / TX ${before[1]} after spurious kicks`, `RX ${after[0]} / TX ${after[1]}`);
        }
        const again = await loopCheck(rig, 0, { count: 8, size: 64, firstSeq: 500, warm: true, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return verdictOf(again, trackerCheck(rig));
      });
    },
  },
]);



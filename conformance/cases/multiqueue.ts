/**
 * vhost-user.rst "Multiple queue support" (CHECKLIST §5.8, VU-MQ-*): GET_QUEUE_NUM, the ring index
 * range, per-pair enable, fixed queues without MQ, and per-device messages sent once.
 * @module
 */
import { FrontendRequest, NetFeature, ProtocolFeature, featureMask, vringState } from '../../fakes/wire/index.js';
import { negotiate } from '../../fakes/frontend/index.js';
import { VirtioFeature } from '../../fakes/wire/index.js';
import type { CaseContext, ConformanceCase } from '../model.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { expectAccepted, expectRefused, sendForAck } from '../verify/ring-outcome.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, skip, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { advertisedRings } from './ring-states.js';

const NET = ['net'] as const;
const MQ_NEEDS = { protocolFeatures: [ProtocolFeature.MQ] };
const TWO_PAIRS = {
  rings: [0, 1, 2, 3], features: featureMask(NetFeature.MQ),
  protocolFeatures: featureMask(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK),
};

/** Loops frames on `pair` and prefixes a failure with what was being checked. */
async function loops(rig: RingRig, ctx: CaseContext, pair: number, what: string, firstSeq: number): Promise<CheckResult> {
  const r = await loopCheck(rig, pair, { count: 16, size: 64, firstSeq, timeoutMs: ctx.waitMs, signal: ctx.signal });
  return r && mismatch(r.expected.map((e) => `${what}: ${e}`), r.actual);
}

/** The multiqueue cases. */
export const multiqueueCases: readonly ConformanceCase[] = Object.freeze([
  // GET_QUEUE_NUM: "Query how many queues the back-end supports."
  {
    id: 'backend/multiqueue/get-queue-num-at-least-one',
    title: 'GET_QUEUE_NUM answers a u64 ≥ 1, the same each time',
    area: 'multiqueue', requirements: ['VU-MQ-001'], level: 'MUST', role: 'backend', needs: MQ_NEEDS,
    spec: { doc: 'vhost-user', anchor: 'GET_QUEUE_NUM', quote: 'Query how many queues the back-end supports; the front-end must not use more.' },
    description: 'Negotiates MQ and asks GET_QUEUE_NUM twice.',
    async run(ctx) {
      const s = await ctx.openSession();
      await negotiate(s, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures: featureMask(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK) });
      const a = await s.getQueueNum();
      const b = await s.getQueueNum();
      if (a < 1n) return fail('GET_QUEUE_NUM ≥ 1', `${a}`);
      if (a !== b) return fail('the same GET_QUEUE_NUM twice in one session', `${a} then ${b}`);
      return pass(`GET_QUEUE_NUM = ${a}`);
    },
  },
  {
    id: 'backend/multiqueue/ring-index-range',
    title: 'The last advertised ring index works, the next one is refused',
    area: 'multiqueue', requirements: ['VU-MQ-002'], level: 'MUST', role: 'backend', needs: MQ_NEEDS,
    spec: { doc: 'vhost-user', anchor: 'Multiple queue support', quote: 'The back-end advertises how many queues it supports; ring messages for indices in that range work, others are invalid.' },
    description: 'SET_VRING_NUM with NEED_REPLY for the last advertised ring (net: 2·GET_QUEUE_NUM − 1, CHECKLIST D7) must be acked 0; for the next index it must be refused.',
    timeoutMs: 30_000,
    async run(ctx) {
      const last = advertisedRings(ctx) - 1;
      const checks: CheckResult[] = [];
      for (const [index, ok] of [[last, true], [last + 1, false]] as const) {
        const s = await ctx.openSession();
        await negotiate(s, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures: featureMask(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK) });
        const o = await sendForAck(s, FrontendRequest.SET_VRING_NUM, vringState.encode({ index, num: 64 }));
        checks.push(ok ? expectAccepted(`ring ${index} (last advertised)`, FrontendRequest.SET_VRING_NUM, o) : expectRefused(`ring ${index} (beyond the advertised ${last + 1})`, FrontendRequest.SET_VRING_NUM, o));
        s.close();
      }
      return verdictOf(...checks);
    },
  },
  // SET_VRING_ENABLE: "Signal the back-end to enable or disable corresponding vring."
  {
    id: 'backend/multiqueue/disable-one-pair-keeps-others',
    title: 'Disabling one queue pair leaves the other running',
    area: 'multiqueue', requirements: ['VU-MQ-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...MQ_NEEDS, features: [NetFeature.MQ], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'SET_VRING_ENABLE', quote: 'Enables or disables one ring; the state of the other rings does not change.' },
    description: 'Two pairs loop frames; pair 1 is disabled and pair 0 must still loop; then pair 1 is re-enabled, pair 0 disabled, and pair 1 must loop.',
    timeoutMs: 40_000,
    async run(ctx) {
      if (ctx.peer.queueNum < 2) return skip(`GET_QUEUE_NUM is ${ctx.peer.queueNum}: one queue pair`);
      return withRig(ctx, TWO_PAIRS, async (rig) => {
        await rig.startAll();
        const pre = verdictOf(await loops(rig, ctx, 0, 'both pairs enabled, pair 0', 0), await loops(rig, ctx, 1, 'both pairs enabled, pair 1', 100));
        if (pre.status === 'fail') return pre;
        await rig.session.setVringEnable(2, false);
        await rig.session.setVringEnable(3, false);
        const a = await loops(rig, ctx, 0, 'pair 1 disabled, pair 0', 200);
        await rig.session.setVringEnable(2, true);
        await rig.session.setVringEnable(3, true);
        await rig.session.setVringEnable(0, false);
        await rig.session.setVringEnable(1, false);
        const b = await loops(rig, ctx, 1, 'pair 0 disabled, pair 1', 300);
        return verdictOf(a, b);
      });
    },
  },
  // RVMM c4cd1d37: a device without MQ still has its fixed queues (net: RX 0 and TX 1).
  {
    id: 'backend/multiqueue/fixed-queues-without-mq',
    title: 'Without MQ negotiated, the fixed rings 0 and 1 work',
    area: 'multiqueue', requirements: ['VU-MQ-004'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Multiple queue support', quote: 'A device without MQ still accepts ring indices of its fixed queues.' },
    description: 'Negotiates neither VIRTIO_NET_F_MQ nor the MQ protocol feature, sets up rings 0 and 1 and loops frames.',
    async run(ctx) {
      return withRig(ctx, { protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK) }, async (rig) => {
        await rig.startAll();
        return verdictOf(await loops(rig, ctx, 0, 'without MQ', 0));
      });
    },
  },
  // DPDK 9e3223ad: a guest driver that does not negotiate VIRTIO_NET_F_MQ after the rings of
  // several pairs were set up; QEMU stops every ring, sends SET_FEATURES without bit 22 and
  // starts pair 0 only. The back-end must let go of the extra pairs without a deadlock.
  {
    id: 'backend/multiqueue/mq-dropped-after-pairs-set-up',
    title: 'SET_FEATURES without MQ after two pairs ran: pair 0 restarts and the back-end keeps answering',
    area: 'multiqueue', requirements: ['VU-MQ-006'], level: 'ROBUST', role: 'backend', deviceTypes: NET,
    needs: { ...MQ_NEEDS, features: [NetFeature.MQ], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Multiple queue support', quote: 'The front-end may renegotiate features after stopping the rings; a back-end must cope with VIRTIO_NET_F_MQ going away (releasing the extra queues) without blocking.' },
    description: 'Two pairs loop frames; every ring is stopped with GET_VRING_BASE; SET_FEATURES is sent again without VIRTIO_NET_F_MQ; GET_FEATURES must still be answered, pair 0 is restarted from its bases and must loop frames, and pair 1 stays unused.',
    timeoutMs: 40_000,
    async run(ctx) {
      if (ctx.peer.queueNum < 2) return skip(`GET_QUEUE_NUM is ${ctx.peer.queueNum}: one queue pair`);
      return withRig(ctx, TWO_PAIRS, async (rig) => {
        await rig.startAll();
        const pre = verdictOf(await loops(rig, ctx, 0, 'two pairs, pair 0', 0), await loops(rig, ctx, 1, 'two pairs, pair 1', 100));
        if (pre.status === 'fail') return pre;
        const bases = new Map<number, number>();
        for (const ring of [0, 1, 2, 3]) bases.set(ring, await rig.session.getVringBase(ring));
        const without = rig.session.features & ~featureMask(NetFeature.MQ);
        await rig.session.setFeatures(without);
        // Liveness: a back-end stuck releasing the queues (a lock held across the free) answers nothing.
        await rig.session.getFeatures();
        for (const ring of [0, 1]) {
          rig.resetRing(ring, bases.get(ring)!);
          await rig.configureRing(ring, { base: bases.get(ring)! });
        }
        return verdictOf(await loops(rig, ctx, 0, 'after SET_FEATURES without MQ, pair 0', 200));
      });
    },
  },
  // QEMU sends per-device messages (SET_MEM_TABLE, SET_FEATURES…) once, not per queue pair.
  {
    id: 'backend/multiqueue/one-mem-table-for-all-pairs',
    title: 'One SET_MEM_TABLE serves every queue pair',
    area: 'multiqueue', requirements: ['VU-MQ-005'], level: 'INTEROP', role: 'backend', deviceTypes: NET,
    needs: { ...MQ_NEEDS, features: [NetFeature.MQ], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Multiple queue support', quote: 'Device-wide messages are sent once per device, not once per queue pair.' },
    description: 'Sends one SET_MEM_TABLE and SET_FEATURES for a two-pair device; both pairs loop frames.',
    timeoutMs: 30_000,
    async run(ctx) {
      if (ctx.peer.queueNum < 2) return skip(`GET_QUEUE_NUM is ${ctx.peer.queueNum}: one queue pair`);
      return withRig(ctx, TWO_PAIRS, async (rig) => {
        await rig.startAll();
        return verdictOf(await loops(rig, ctx, 0, 'pair 0', 0), await loops(rig, ctx, 1, 'pair 1', 100));
      });
    },
  },
]);

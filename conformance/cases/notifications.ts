/**
 * Used-buffer notifications and their suppression (virtio 1.2 §2.7.7, §2.7.10; CHECKLIST §5.16,
 * VU-EVT-*), observed on TX ring 1's call eventfd: the counter read is the number of signals.
 * @module
 */
import { VirtioFeature, featureMask, splitUsedEventOffset } from '../../fakes/wire/index.js';
import type { CaseContext, ConformanceCase, Verdict } from '../model.js';
import { eventfdWrite } from '../../native/index.js';
import { drainRx, frameSeq, loopCheck, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { sleep, takeSignals, waitSignals, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const LOOP = { loopingNet: true } as const;
const EVENT_IDX = { ...LOOP, features: [VirtioFeature.EVENT_IDX] };
const EVENT_IDX_RIG = { features: featureMask(VirtioFeature.EVENT_IDX), eventIdx: true };

/** Starts the rig, loops a few frames and waits for the signals they caused to settle. */
async function started(rig: RingRig, ctx: CaseContext): Promise<CheckResult> {
  await rig.startAll();
  const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
  await sleep(30, ctx.signal);
  takeSignals(rig.q(TX).callFd);
  takeSignals(rig.q(RX).callFd);
  return warm && mismatch(warm.expected, `precondition: ${warm.actual}`);
}

/** Sends one TX frame and waits until it is used; returns the signals seen on ring 1 after `settleMs`. */
async function oneCompletion(rig: RingRig, ctx: CaseContext, seq: number, settleMs: number): Promise<number | undefined> {
  const want = (rig.usedIdx(TX) + 1) & 0xffff;
  sendFrames(rig, TX, [testFrame(seq, 64)]);
  if (!(await waitUntil(() => rig.usedIdx(TX) === want, ctx.waitMs, ctx.signal))) return undefined;
  rig.reclaim(TX);
  await sleep(settleMs, ctx.signal);
  return takeSignals(rig.q(TX).callFd);
}

/** Writes `used_event` of TX ring 1 (EVENT_IDX). */
function setUsedEvent(rig: RingRig, value: number): void {
  const { availAddr, size } = rig.q(TX).driver.layout;
  rig.memory.writeU16(availAddr + splitUsedEventOffset(size), value & 0xffff);
}

/** Runs `n` single completions and returns the signal counts, or a mismatch when one stalls. */
async function completions(rig: RingRig, ctx: CaseContext, n: number, settleMs: number): Promise<number[] | CheckResult> {
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = await oneCompletion(rig, ctx, 100 + i, settleMs);
    if (c === undefined) return mismatch('each TX frame is used', `TX used.idx stuck at ${rig.usedIdx(TX)}`);
    counts.push(c);
  }
  return counts;
}

/**
 * Gaps (ms) before each single frame: around the length of a polling back-end's idle spin
 * (the reference spins 20 ms, DPDK forever), so some frames land just as the device turns
 * kicks back on, the window VU-EVT-005 is about.
 */
const STRAND_GAPS = [0, 2, 8, 15, 18, 19, 20, 21, 22, 25, 30, 45];

/**
 * Sends single frames after the gaps above, kicking TX only when the device's suppression
 * (used->flags, or avail_event with EVENT_IDX) asks for it, as a driver must; every frame has
 * to come back. A device that suppressed kicks and then stopped looking strands one.
 */
async function neverStranded(rig: RingRig, ctx: CaseContext): Promise<Verdict> {
  const pre = await started(rig, ctx);
  if (pre) return verdictOf(pre);
  let skipped = 0;
  for (let round = 0; round < STRAND_GAPS.length * 4; round++) {
    const gap = STRAND_GAPS[round % STRAND_GAPS.length];
    await sleep(gap, ctx.signal);
    rig.reclaim(TX);
    const seq = 2000 + round;
    sendFrames(rig, TX, [testFrame(seq, 64)], false);
    const q = rig.q(TX);
    q.driver.publish();
    const kicked = q.driver.needsKick();
    if (kicked) eventfdWrite(q.kickFd);
    else skipped++;
    const back = await waitUntil(() => drainRx(rig, RX).some((r) => frameSeq(r.frame) === seq), ctx.waitMs, ctx.signal);
    if (!back) {
      return fail('every frame comes back when the driver kicks only where the device asks for kicks',
        `frame ${round + 1} (sent ${gap} ms after the previous one came back, ${kicked ? 'with a kick' : 'without a kick: the device had suppressed them'}) did not come back within ${ctx.waitMs} ms (TX used.idx ${rig.usedIdx(TX)}, avail.idx ${q.driver.availIdx})`);
    }
  }
  // Says how much the case proved: a device that never suppresses kicks passes trivially.
  return pass(`${skipped} of ${STRAND_GAPS.length * 4} frames were sent without a kick, as the device asked`);
}

/** The notification cases. */
export const notificationCases: readonly ConformanceCase[] = Object.freeze([
  // virtio §2.7.7.2: without EVENT_IDX, "if flags is 0, the device MUST send a notification".
  {
    id: 'backend/notifications/signals-when-flags-zero',
    title: 'With avail->flags 0 the device signals the call fd after using buffers',
    area: 'notifications', requirements: ['VU-EVT-001'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.7.2', quote: 'Without VIRTIO_F_EVENT_IDX, if avail->flags is 0 the device must send a notification after adding used buffers.' },
    description: 'With avail->flags 0 on TX ring 1, sends frames one by one: each completion must be followed by a call-fd signal.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        const pre = await started(rig, ctx);
        if (pre) return fail(pre.expected, pre.actual);
        const counts = await completions(rig, ctx, 4, 30);
        if (!Array.isArray(counts)) return verdictOf(counts);
        const silent = counts.findIndex((c) => c === 0);
        if (silent >= 0) {
          const late = await waitSignals(rig.q(TX).callFd, ctx.waitMs);
          if (late === 0) return fail('a call-fd signal after each TX completion (avail->flags 0)', `completion ${silent + 1} of 4 was never signalled (signals per completion: ${counts.join(', ')})`);
        }
        return pass();
      });
    },
  },
  // virtio §2.7.7.2: "if flags is 1, the device SHOULD NOT send a notification".
  {
    id: 'backend/notifications/silent-when-no-interrupt',
    title: 'With VIRTQ_AVAIL_F_NO_INTERRUPT the device does not signal',
    area: 'notifications', requirements: ['VU-EVT-001'], level: 'SHOULD', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.7.2', quote: 'Without VIRTIO_F_EVENT_IDX, if avail->flags is 1 the device should not send a notification.' },
    description: 'Sets NO_INTERRUPT on TX ring 1, sends 8 frames: no call-fd signal through the quiet window.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        const pre = await started(rig, ctx);
        if (pre) return fail(pre.expected, pre.actual);
        rig.q(TX).driver.suppressInterrupts(true);
        takeSignals(rig.q(TX).callFd);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(100 + i, 64)));
        await waitUntil(() => rig.usedIdx(TX) === rig.q(TX).driver.availIdx, ctx.waitMs, ctx.signal);
        await sleep(ctx.quietMs, ctx.signal);
        const n = takeSignals(rig.q(TX).callFd);
        return n === 0 ? pass() : fail('no call-fd signal while avail->flags has NO_INTERRUPT', `${n} signal(s) for 8 completions`);
      });
    },
  },
  // virtio §2.7.7.2 with EVENT_IDX: notify when the used index passes used_event
  // (vring_need_event(used_event, new, old)).
  {
    id: 'backend/notifications/event-idx-signals-at-crossing',
    title: 'With EVENT_IDX the device signals when used.idx passes used_event',
    area: 'notifications', requirements: ['VU-EVT-002', 'VU-FEAT-007'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: EVENT_IDX,
    spec: { doc: 'virtio', anchor: '2.7.7.2', quote: 'With VIRTIO_F_EVENT_IDX the device must notify when the used index it writes passes used_event (vring_need_event).' },
    description: 'Sets used_event = used.idx + 4 on TX ring 1 and completes 8 frames one by one: the fifth completion (used.idx = used_event + 1) must be signalled.',
    async run(ctx) {
      return withRig(ctx, EVENT_IDX_RIG, async (rig) => {
        const pre = await started(rig, ctx);
        if (pre) return fail(pre.expected, pre.actual);
        setUsedEvent(rig, rig.usedIdx(TX) + 4);
        const counts = await completions(rig, ctx, 8, 30);
        if (!Array.isArray(counts)) return verdictOf(counts);
        if (counts[4] === 0) return fail('a signal at the fifth completion (used.idx crosses used_event)', `signals per completion: ${counts.join(', ')}`);
        return pass();
      });
    },
  },
  {
    id: 'backend/notifications/event-idx-silent-elsewhere',
    title: 'With EVENT_IDX the device stays silent when used_event is not crossed',
    area: 'notifications', requirements: ['VU-EVT-002'], level: 'SHOULD', role: 'backend', deviceTypes: NET, needs: EVENT_IDX,
    spec: { doc: 'virtio', anchor: '2.7.7.2', quote: 'With VIRTIO_F_EVENT_IDX the device should not notify unless used_event is crossed.' },
    description: 'Sets used_event = used.idx + 4 on TX ring 1 and completes 8 frames one by one: only the fifth may be signalled.',
    async run(ctx) {
      return withRig(ctx, EVENT_IDX_RIG, async (rig) => {
        const pre = await started(rig, ctx);
        if (pre) return fail(pre.expected, pre.actual);
        setUsedEvent(rig, rig.usedIdx(TX) + 4);
        const counts = await completions(rig, ctx, 8, 30);
        if (!Array.isArray(counts)) return verdictOf(counts);
        const extra = counts.findIndex((c, i) => i !== 4 && c > 0);
        if (extra >= 0) return fail('signals only at the fifth completion', `signals per completion: ${counts.join(', ')}`);
        return pass();
      });
    },
  },
  // virtio §2.7.10: the device writes used->flags only as 0/1 without EVENT_IDX and 0 with it.
  {
    id: 'backend/notifications/used-flags-values',
    title: 'used->flags is 0 or 1 without EVENT_IDX and 0 with it',
    area: 'notifications', requirements: ['VU-EVT-003'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.10', quote: 'The device must set used->flags to 0 or 1 (NO_NOTIFY); with VIRTIO_F_EVENT_IDX it must set it to 0.' },
    description: 'Loops frames without and (when offered) with EVENT_IDX and reads used->flags of both rings.',
    timeoutMs: 30_000,
    async run(ctx) {
      const runs: { name: string; opts: object; allowed: number[] }[] = [{ name: 'without EVENT_IDX', opts: {}, allowed: [0, 1] }];
      if ((ctx.peer.features >> BigInt(VirtioFeature.EVENT_IDX)) & 1n) runs.push({ name: 'with EVENT_IDX', opts: EVENT_IDX_RIG, allowed: [0] });
      for (const r of runs) {
        const bad = await withRig(ctx, r.opts, async (rig) => {
          const pre = await started(rig, ctx);
          if (pre) return pre;
          for (const ring of [RX, TX]) {
            const flags = rig.memory.readU16(rig.q(ring).driver.layout.usedAddr);
            if (!r.allowed.includes(flags)) return mismatch(`used->flags ∈ {${r.allowed.join(', ')}} ${r.name}`, `ring ${ring} used->flags 0x${flags.toString(16)}`);
          }
          return undefined;
        });
        if (bad) return verdictOf(bad);
      }
      return pass();
    },
  },
  // DPDK 2f706027: event-index bookkeeping must be reset when a ring restarts, or the first
  // completion after the restart can be wrongly suppressed.
  {
    id: 'backend/notifications/event-idx-reset-on-restart',
    title: 'After a ring restart the first completion crossing used_event is signalled',
    area: 'notifications', requirements: ['VU-EVT-004'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: EVENT_IDX,
    spec: { doc: 'virtio', anchor: '2.7.7.2', quote: 'With VIRTIO_F_EVENT_IDX the device notifies when the used index passes used_event; a restarted ring starts with fresh bookkeeping.' },
    description: 'Loops frames with EVENT_IDX until TX used.idx is S, stops both rings, restarts TX ring 1 at base S − 1 with used_event S − 1, completes one frame (used.idx S): it must be signalled, though a device that kept its old "last signalled = S" would stay silent.',
    async run(ctx) {
      return withRig(ctx, EVENT_IDX_RIG, async (rig) => {
        const pre = await started(rig, ctx);
        if (pre) return fail(pre.expected, pre.actual);
        const s = rig.usedIdx(TX);
        const rxBase = await rig.session.getVringBase(RX);
        await rig.session.getVringBase(TX);
        const base = (s - 1) & 0xffff;
        rig.resetRing(RX, rxBase);
        rig.resetRing(TX, base);
        setUsedEvent(rig, base);
        await rig.configureRing(RX, { base: rxBase });
        await rig.configureRing(TX, { base });
        takeSignals(rig.q(TX).callFd);
        const n = await oneCompletion(rig, ctx, 500, 30);
        if (n === undefined) return fail('the restarted TX ring uses a frame', `TX used.idx stuck at ${rig.usedIdx(TX)}`);
        const total = n + (n === 0 ? await waitSignals(rig.q(TX).callFd, ctx.quietMs) : 0);
        return total > 0 ? pass() : fail('a call-fd signal for the first completion after restart (used.idx passes used_event)', 'no signal');
      });
    },
  },
  // SPDK df8d361f, rust-vmm/vhost#247: after turning notifications back on the device must look
  // at the avail ring again, or a buffer published while they were off (so never kicked) waits
  // forever.
  {
    id: 'backend/notifications/suppression-never-strands/flags',
    title: 'A driver that kicks only when used->flags allows it never strands a buffer',
    area: 'notifications', requirements: ['VU-EVT-005'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.10', quote: 'After re-enabling notifications the device must check the available ring again (with a memory barrier), since the driver may have added buffers without notifying while they were suppressed.' },
    description: 'Without EVENT_IDX, sends 48 single frames after gaps of 0–45 ms, writing the TX kick fd only when VRING_USED_F_NO_NOTIFY is clear: each must come back within the wait bound. A device that leaves kicks off while it waits is caught every time; a narrow re-check race only when a frame happens to land in it.',
    timeoutMs: 40_000,
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => neverStranded(rig, ctx));
    },
  },
  {
    id: 'backend/notifications/suppression-never-strands/event-idx',
    title: 'A driver that kicks only when avail_event asks never strands a buffer (EVENT_IDX)',
    area: 'notifications', requirements: ['VU-EVT-005'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: EVENT_IDX,
    spec: { doc: 'virtio', anchor: '2.7.10', quote: 'After re-enabling notifications (moving avail_event) the device must check the available ring again, since buffers added while they were suppressed sent no notification.' },
    description: 'With EVENT_IDX, sends 48 single frames after gaps of 0–45 ms, writing the TX kick fd only when the new avail.idx passes avail_event (vring_need_event): each must come back within the wait bound. A device that leaves kicks off while it waits is caught every time; a narrow re-check race only by chance.',
    timeoutMs: 40_000,
    async run(ctx) {
      return withRig(ctx, EVENT_IDX_RIG, async (rig) => neverStranded(rig, ctx));
    },
  },
]);

/**
 * vhost-user.rst "Ring states", the part bit 30 decides: without VHOST_USER_F_PROTOCOL_FEATURES
 * a ring is enabled as soon as it starts; with it, a ring starts disabled and waits for
 * SET_VRING_ENABLE 1 (CHECKLIST VU-FEAT-003/004). Driven through net pair 0.
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { VHOST_USER_F_PROTOCOL_FEATURES, hasFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { PROBE_SEQ, awaitFramesNoRepost, loopCheck, warmUpNoRepost, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;

/** The ring-enable cases, in run order. */
export const ringEnableCases: readonly ConformanceCase[] = Object.freeze([
  // "If VHOST_USER_F_PROTOCOL_FEATURES has not been negotiated, the ring starts directly in the
  // enabled state." A front-end older than bit 30 never sends SET_VRING_ENABLE.
  {
    id: 'backend/ring-enable/enabled-at-once-without-bit-30',
    title: 'Without bit 30, rings move traffic with no SET_VRING_ENABLE',
    area: 'ring-lifecycle', requirements: ['VU-FEAT-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'If VHOST_USER_F_PROTOCOL_FEATURES has not been negotiated, the ring starts directly in the enabled state.' },
    description: 'Negotiates as a legacy front-end (no GET/SET_PROTOCOL_FEATURES, SET_FEATURES with VERSION_1 only), sets up pair 0 without any SET_VRING_ENABLE and loops 16 frames.',
    async run(ctx) {
      return withRig(ctx, { protocolFeaturesBit: false }, async (rig) => {
        if (hasFeature(rig.session.features, VHOST_USER_F_PROTOCOL_FEATURES)) return fail('bit 30 not acked', 'bit 30 was acked');
        await rig.startAll();
        const bad = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return bad ? fail(bad.expected.map((e) => `without bit 30 and without SET_VRING_ENABLE: ${e}`), bad.actual) : pass();
      });
    },
  },
  // "If VHOST_USER_F_PROTOCOL_FEATURES has been negotiated, the ring starts in disabled state" and
  // SET_VRING_ENABLE 1 turns it on; until then an RX ring is not filled (VU-RING-011).
  {
    id: 'backend/ring-enable/disabled-until-enable-with-bit-30',
    title: 'With bit 30, rings wait for SET_VRING_ENABLE 1 and then process normally',
    area: 'ring-lifecycle', requirements: ['VU-FEAT-004'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { features: [VHOST_USER_F_PROTOCOL_FEATURES], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'If VHOST_USER_F_PROTOCOL_FEATURES has been negotiated, the ring starts in disabled state. A ring in the disabled state can be enabled by sending VHOST_USER_SET_VRING_ENABLE with parameter 1.' },
    description: 'Negotiates bit 30, starts pair 0 without SET_VRING_ENABLE, posts RX buffers and sends TX frames: the RX used ring must stay untouched through the quiet window. Then enables both rings and loops 16 frames.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll({ enable: false });
        const rxBefore = rig.usedIdx(RX);
        postRx(rig, RX);
        // Probe frames: if a back-end later loops them, the loop check ignores them.
        sendFrames(rig, TX, [0, 1, 2, 3].map(() => testFrame(PROBE_SEQ, 64)));
        await sleep(ctx.quietMs, ctx.signal);
        if (rig.usedIdx(RX) !== rxBefore) {
          return fail(`RX used.idx stays ${rxBefore} while both rings are disabled`, `RX used.idx ${rig.usedIdx(RX)} after ${ctx.quietMs} ms`);
        }
        await rig.session.setVringEnable(RX, true);
        await rig.session.setVringEnable(TX, true);
        const bad = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        return bad ? fail(bad.expected.map((e) => `after SET_VRING_ENABLE 1: ${e}`), bad.actual) : pass();
      });
    },
  },
  // rust-vmm/vhost#247: a kick that arrives while the ring is still disabled must not be
  // swallowed; a front-end kicks once per batch and may never kick that ring again. A disabled
  // TX ring may consume and discard (VU-RING-011), so TX is judged by its chains coming back.
  {
    id: 'backend/ring-enable/kick-before-enable-not-lost',
    title: 'Buffers kicked while a ring was disabled are taken once it is enabled, with no new kick on that ring',
    area: 'ring-lifecycle', requirements: ['VU-RECON-012'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { features: [VHOST_USER_F_PROTOCOL_FEATURES], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Ring states', quote: 'A ring in the disabled state can be enabled by sending VHOST_USER_SET_VRING_ENABLE with parameter 1; buffers made available and notified before that are then processed.' },
    description: 'Negotiates bit 30 and starts pair 0 without SET_VRING_ENABLE; posts every RX buffer and 8 TX frames and writes both kick fds once; then enables both rings. The RX ring is never kicked again and the TX ring not until all 8 TX chains are back (discarded or looped): that must happen within the wait bound. Then probe frames (at most 32, for a back-end whose forwarding comes up late) and 8 new frames on TX must land in the RX buffers posted before the enable.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll({ enable: false });
        postRx(rig, RX);
        sendFrames(rig, TX, Array.from({ length: 8 }, () => testFrame(PROBE_SEQ, 64)), false);
        rig.q(TX).driver.publish();
        // The only kicks of RX, and the only TX kick until its chains are back.
        eventfdWrite(rig.q(RX).kickFd);
        eventfdWrite(rig.q(TX).kickFd);
        await rig.session.setVringEnable(RX, true);
        await rig.session.setVringEnable(TX, true);
        const txBack = await waitUntil(() => { rig.reclaim(TX); return rig.q(TX).driver.inFlight === 0; }, ctx.waitMs, ctx.signal);
        if (!txBack) {
          return fail('the 8 TX chains kicked before SET_VRING_ENABLE are returned after it, with no further TX kick', `${rig.q(TX).driver.inFlight} still owned by the device after ${ctx.waitMs} ms (TX used.idx ${rig.usedIdx(TX)})`);
        }
        // Every RX buffer was posted before the enable and none is re-posted (that could kick RX).
        if (!(await warmUpNoRepost(rig, RX, TX, ctx.waitMs, ctx.signal))) {
          return fail('probe frames sent on TX land in the RX buffers kicked before SET_VRING_ENABLE, with no further RX kick', `none of up to 32 came back within ${ctx.waitMs} ms (TX used.idx ${rig.usedIdx(TX)}, RX used.idx ${rig.usedIdx(RX)})`);
        }
        const frames = Array.from({ length: 8 }, (_, i) => testFrame(i, 64));
        sendFrames(rig, TX, frames);
        const { back, problems } = await awaitFramesNoRepost(rig, RX, TX, new Map(frames.map((f, i) => [i, f])), ctx.waitMs, ctx.signal);
        if (problems.length > 0) return fail('each frame back once, intact', problems.slice(0, 3).join('; '));
        if (back < frames.length) {
          return fail(`${frames.length} frames land in the RX buffers kicked before SET_VRING_ENABLE, with no further RX kick`, `${back} came back within ${ctx.waitMs} ms (TX used.idx ${rig.usedIdx(TX)}, RX used.idx ${rig.usedIdx(RX)})`);
        }
        return pass();
      });
    },
  },
]);

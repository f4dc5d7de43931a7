/**
 * vhost-user.rst "Ring states", the part bit 30 decides: without VHOST_USER_F_PROTOCOL_FEATURES
 * a ring is enabled as soon as it starts; with it, a ring starts disabled and waits for
 * SET_VRING_ENABLE 1 (CHECKLIST VU-FEAT-003/004). Driven through net pair 0.
 * @module
 */
import { VHOST_USER_F_PROTOCOL_FEATURES, hasFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { PROBE_SEQ, loopCheck, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';

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
]);

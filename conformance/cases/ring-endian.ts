/**
 * SET_VRING_ENDIAN (vhost-user.rst ID 23, CROSS_ENDIAN; CHECKLIST VU-RING-021, VU-FEAT-008): for a
 * legacy (pre-VERSION_1) device on a host of the other byte order, the front-end says per ring
 * whether its fields are little- (0) or big-endian (1), once, before the ring starts. Any other
 * value has no meaning and must be refused; a ring set big-endian is then read and written
 * big-endian.
 * @module
 */
import { negotiate } from '../../fakes/frontend/index.js';
import { FrontendRequest, ProtocolFeature, VirtioFeature, featureMask, hasFeature, vringState } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { bigEndianLoopCheck } from '../verify/big-endian-loop.js';
import { describeOutcome, expectAccepted, expectRefused, sendForAck, stillServes } from '../verify/ring-outcome.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';

const RX = 0;
const TX = 1;

export const ringEndianCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/ring-states/vring-endian-values',
    title: 'SET_VRING_ENDIAN takes 0 (little) or 1 (big) on a ring that has not started, and refuses 2',
    area: 'ring-states', requirements: ['VU-RING-021'], level: 'MUST', role: 'backend',
    needs: { protocolFeatures: [ProtocolFeature.CROSS_ENDIAN, ProtocolFeature.REPLY_ACK] },
    spec: { doc: 'vhost-user', anchor: 'VHOST_USER_SET_VRING_ENDIAN', quote: 'num is 0 for little-endian and 1 for big-endian; the message is sent before the ring starts.' },
    description: 'Negotiates CROSS_ENDIAN and REPLY_ACK without VERSION_1 (a legacy driver), sends SET_VRING_ENDIAN {ring 0, num 2} with NEED_REPLY: a non-zero ack (or a close) is expected; then {ring 0, num 0}: ack 0. The device must still answer.',
    async run(ctx) {
      const s = await ctx.openSession();
      await negotiate(s, { features: 0n, protocolFeatures: featureMask(ProtocolFeature.CROSS_ENDIAN, ProtocolFeature.REPLY_ACK) });
      const bad = await sendForAck(s, FrontendRequest.SET_VRING_ENDIAN, vringState.encode({ index: 0, num: 2 }));
      ctx.note(`num 2: ${describeOutcome(bad)}`);
      const refused = expectRefused('num 2 (neither little nor big)', FrontendRequest.SET_VRING_ENDIAN, bad);
      if (refused) return fail(refused.expected, refused.actual);
      if (bad.kind === 'closed') return pass('num 2 closed the connection');
      const good = await sendForAck(s, FrontendRequest.SET_VRING_ENDIAN, vringState.encode({ index: 0, num: 0 }));
      const accepted = expectAccepted('num 0 (little-endian) before the ring starts', FrontendRequest.SET_VRING_ENDIAN, good);
      if (accepted) return fail(accepted.expected, accepted.actual);
      const alive = await stillServes(s, () => ctx.openSession());
      return alive ? fail(alive.expected, alive.actual) : pass();
    },
  },
  {
    id: 'backend/ring-states/legacy-big-endian-ring',
    title: 'A legacy ring set big-endian by SET_VRING_ENDIAN is read and written big-endian',
    area: 'ring-states', requirements: ['VU-FEAT-008'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { protocolFeatures: [ProtocolFeature.CROSS_ENDIAN, ProtocolFeature.REPLY_ACK], loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'VHOST_USER_SET_VRING_ENDIAN', quote: 'Set the endianness of a VQ for legacy devices. Little-endian is indicated with state.num set to 0 and big-endian is indicated with state.num set to 1.' },
    description: 'Negotiates as a legacy driver (no VERSION_1, no MRG_RXBUF) with CROSS_ENDIAN and REPLY_ACK, sends SET_VRING_ENDIAN 1 for RX and TX (both must be acked), starts the rings and then writes them as a big-endian guest would: descriptors, avail entries and indices big-endian. 24 RX buffers, probes until one comes back, then 8 frames of 64 bytes behind the 10-byte header: each must come back once, unchanged, with the used index, ids and lengths of both rings big-endian.',
    async run(ctx) {
      return withRig(ctx, { version1: false, protocolFeatures: featureMask(ProtocolFeature.CROSS_ENDIAN, ProtocolFeature.REPLY_ACK) }, async (rig) => {
        if (hasFeature(rig.session.features, VirtioFeature.VERSION_1)) return fail('precondition: VERSION_1 not acked (a legacy driver)', 'VERSION_1 was acked');
        for (const ring of [RX, TX]) {
          const o = await sendForAck(rig.session, FrontendRequest.SET_VRING_ENDIAN, vringState.encode({ index: ring, num: 1 }));
          const refused = expectAccepted(`num 1 (big-endian) on ring ${ring} before it starts`, FrontendRequest.SET_VRING_ENDIAN, o);
          if (refused) return fail(refused.expected, refused.actual);
        }
        await rig.startAll();
        const bad = await bigEndianLoopCheck(rig, RX, TX, ctx);
        return bad ? fail(bad.expected, bad.actual) : pass();
      });
    },
  },
]);

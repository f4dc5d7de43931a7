/**
 * SET_VRING_ENDIAN (vhost-user.rst ID 23, CROSS_ENDIAN; CHECKLIST VU-RING-021): for a legacy
 * (pre-VERSION_1) device on a host of the other byte order, the front-end says per ring whether
 * its fields are little- (0) or big-endian (1), once, before the ring starts. Any other value has
 * no meaning and must be refused.
 * @module
 */
import { negotiate } from '../../fakes/frontend/index.js';
import { FrontendRequest, ProtocolFeature, featureMask, vringState } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { describeOutcome, expectAccepted, expectRefused, sendForAck, stillServes } from '../verify/ring-outcome.js';
import { fail, pass } from '../verify/ring-verdict.js';

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
]);

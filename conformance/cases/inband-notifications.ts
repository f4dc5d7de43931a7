/**
 * In-band notifications (vhost-user.rst "In-band notifications", VRING_KICK and
 * BACKEND_VRING_CALL; CHECKLIST VU-INB), where INBAND_NOTIFICATIONS is offered: a front-end
 * without eventfds (a VFIO-user style transport, a fuzzer) kicks with a message on the socket,
 * and the back-end calls with a message on the back-end channel.
 * @module
 */
import { BackendRequest, FrontendRequest, ProtocolFeature, featureMask, payloads } from '../../fakes/wire/index.js';
import type { CaseContext, CaseNeeds, ConformanceCase } from '../model.js';
import { BackendChannel } from '../verify/backend-channel.js';
import { drainRx, frameSeq, postRx, sendFrames, testFrame, trackerCheck } from '../verify/data-net-loop.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const FRAMES = 16;
const needs: CaseNeeds = { protocolFeatures: [ProtocolFeature.INBAND_NOTIFICATIONS, ProtocolFeature.BACKEND_REQ], loopingNet: true };
const RIG = {
  protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.BACKEND_REQ, ProtocolFeature.INBAND_NOTIFICATIONS),
};
const SPEC = { doc: 'vhost-user', anchor: 'In-band notifications' } as const;
const NET = ['net'] as const;

/** VRING_KICK for `ring` (acked under REPLY_ACK: a refusal throws, which fails the case). */
const kick = (rig: RingRig, ring: number): Promise<unknown> =>
  rig.session.command(FrontendRequest.VRING_KICK, payloads.vringState.encode({ index: ring, num: 0 }));

/**
 * Sends {@link FRAMES} frames and waits for them on RX, answering back-end channel messages that
 * ask for a reply as it goes; `onKick` runs after each publish. Returns the frames that came back
 * and every back-end channel message seen.
 */
async function loopFrames(rig: RingRig, channel: BackendChannel, ctx: CaseContext, onKick: (ring: number) => Promise<unknown>): Promise<{ back: Set<number>; calls: payloads.VringState[]; other: string[] }> {
  const back = new Set<number>();
  const calls: payloads.VringState[] = [];
  const other: string[] = [];
  postRx(rig, RX);
  await onKick(RX);
  sendFrames(rig, TX, Array.from({ length: FRAMES }, (_, i) => testFrame(100 + i, 64)));
  await onKick(TX);
  const deadline = Date.now() + ctx.waitMs;
  let lastKick = Date.now();
  while (back.size < FRAMES && Date.now() < deadline) {
    for (const m of await channel.drain()) {
      channel.ack(m);
      if (m.request === BackendRequest.BACKEND_VRING_CALL && m.size === payloads.vringState.SIZE) calls.push(payloads.vringState.decode(m.body));
      else other.push(`request ${m.request} size ${m.size}`);
    }
    for (const r of drainRx(rig, RX)) {
      const seq = frameSeq(r.frame);
      if (seq !== undefined) back.add(seq);
    }
    rig.reclaim(TX);
    // A kick may have gone to a ring the back-end had not looked at yet: kick again now and then.
    if (Date.now() - lastKick > 200) {
      lastKick = Date.now();
      await onKick(TX);
    }
    await sleep(5, ctx.signal);
  }
  return { back, calls, other };
}

export const inbandNotificationCases: readonly ConformanceCase[] = [
  {
    id: 'backend/inband/vring-kick-starts-ring',
    title: 'VRING_KICK starts a ring that never got a kick fd, and frames flow through it',
    area: 'notifications', requirements: ['VU-INB-001'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'VHOST_USER_VRING_KICK: when INBAND_NOTIFICATIONS is negotiated, the front-end uses this message to kick a ring; it starts a ring whose kick fd was not given.' },
    description: `Negotiates INBAND_NOTIFICATIONS and BACKEND_REQ, configures both rings without SET_VRING_KICK (call fds as usual), sends VRING_KICK for RX and TX (each acked 0) and ${FRAMES} frames, kicking TX in-band again every 200 ms: all ${FRAMES} must come back.`,
    async run(ctx) {
      return withRig(ctx, RIG, async (rig) => {
        const channel = await BackendChannel.attach(rig.session);
        try {
          await rig.startAll({ kick: 'skip' });
          const r = await loopFrames(rig, channel, ctx, (ring) => kick(rig, ring));
          if (r.back.size < FRAMES) return fail(`all ${FRAMES} frames loop after VRING_KICK started the rings`, `${r.back.size} came back`);
          const life = trackerCheck(rig);
          if (life) return fail(life.expected, life.actual);
          return pass(`${FRAMES} frames; ${r.calls.length} in-band call(s) seen`);
        } finally {
          channel.close();
        }
      });
    },
  },
  {
    id: 'backend/inband/vring-call-without-call-fd',
    title: 'Without a call fd, completions are reported with BACKEND_VRING_CALL on the back-end channel',
    area: 'notifications', requirements: ['VU-INB-002'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'VHOST_USER_BACKEND_VRING_CALL: when INBAND_NOTIFICATIONS is negotiated and the ring has no call fd, the back-end sends this message to signal used buffers.' },
    description: `Negotiates INBAND_NOTIFICATIONS and BACKEND_REQ, sets both call fds with the invalid-fd flag (kick fds as usual, interrupts not suppressed) and loops ${FRAMES} frames: the back-end channel must carry at least one well-formed BACKEND_VRING_CALL for RX ring ${RX} (num 0, a ring that exists), and nothing else.`,
    async run(ctx) {
      return withRig(ctx, RIG, async (rig) => {
        const channel = await BackendChannel.attach(rig.session);
        try {
          await rig.startAll({ call: 'nofd' });
          const r = await loopFrames(rig, channel, ctx, async (ring) => rig.publish(ring, true));
          if (r.back.size < FRAMES) return fail(`all ${FRAMES} frames loop`, `${r.back.size} came back`);
          // The last call may trail the last completion by a moment.
          await sleep(ctx.quietMs, ctx.signal);
          for (const m of await channel.drain()) {
            channel.ack(m);
            if (m.request === BackendRequest.BACKEND_VRING_CALL && m.size === payloads.vringState.SIZE) r.calls.push(payloads.vringState.decode(m.body));
            else r.other.push(`request ${m.request} size ${m.size}`);
          }
          const expected = `BACKEND_VRING_CALL {index ${RX}, num 0} at least once, and no other back-end message`;
          if (r.other.length > 0) return fail(expected, `also: ${r.other.join('; ')}`);
          const bad = r.calls.filter((c) => c.index !== RX && c.index !== TX);
          if (bad.length > 0) return fail(expected, `calls for rings ${bad.map((c) => c.index).join(', ')}`);
          const rx = r.calls.filter((c) => c.index === RX);
          if (rx.length === 0) return fail(expected, `${r.calls.length} call(s), none for ring ${RX}: the driver was never told its frames arrived`);
          return pass(`${rx.length} call(s) for ring ${RX}, ${r.calls.length - rx.length} for ring ${TX}`);
        } finally {
          channel.close();
        }
      });
    },
  },
];

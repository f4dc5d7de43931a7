/**
 * The suspended device (vhost-user.rst "Suspended device state"; CHECKLIST VU-RING-016): once
 * GET_VRING_BASE has stopped every ring, the back-end must not write guest memory, signal a call
 * fd or send on the back-end channel, yet it keeps answering front-end messages. QEMU relies on
 * this at migration: after the last GET_VRING_BASE it copies guest RAM for the final time.
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { Direction, ProtocolFeature, featureMask, hasFeature, requestName } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { BackendChannel } from '../verify/backend-channel.js';
import { loopCheck, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { sleep, takeSignals } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;

/** A copy of every guest RAM region. */
const snapshot = (rig: RingRig): Uint8Array[] => rig.memory.regions.map((r) => r.bytes.slice());

/** Where guest RAM differs from `before`, described, or undefined. */
function firstChange(rig: RingRig, before: readonly Uint8Array[]): string | undefined {
  for (const [i, r] of rig.memory.regions.entries()) {
    const now = r.bytes;
    const was = before[i]!;
    if (Buffer.compare(now, was) === 0) continue;
    let at = 0;
    while (now[at] === was[at]) at++;
    return `guest byte at GPA 0x${(r.guestPhysAddr + at).toString(16)} changed from 0x${was[at]!.toString(16)} to 0x${now[at]!.toString(16)}`;
  }
  return undefined;
}

/** The suspended-device cases. */
export const suspendedDeviceCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/ring-states/suspended-device-is-quiet',
    title: 'With every ring stopped the device writes no guest memory, signals nothing and still answers',
    area: 'ring-lifecycle', requirements: ['VU-RING-016', 'VU-BE-003'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Suspended device state', quote: 'While all vrings are stopped, the device is suspended: it must not write to guest memory, send notifications or back-end messages, but keeps processing front-end messages.' },
    description: 'Sets up pair 0 (with a back-end channel when BACKEND_REQ is offered), loops 8 frames, stops both rings with GET_VRING_BASE, then posts RX buffers, publishes TX frames and kicks both rings: through the quiet window guest RAM must stay byte-for-byte the same, used.idx still, no call fd signalled and nothing sent on the back-end channel; GET_FEATURES must still be answered.',
    async run(ctx) {
      const protocolFeatures = featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.BACKEND_REQ);
      return withRig(ctx, { protocolFeatures }, async (rig) => {
        const channel = hasFeature(rig.session.protocolFeatures, ProtocolFeature.BACKEND_REQ) ? await BackendChannel.attach(rig.session) : undefined;
        try {
          await rig.startAll();
          const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
          if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
          for (const ring of [RX, TX]) await rig.session.getVringBase(ring);
          // What the channel carried while the rings ran does not count.
          await channel?.drain();
          const used = [RX, TX].map((r) => rig.usedIdx(r));
          for (const r of [RX, TX]) takeSignals(rig.q(r).callFd);
          postRx(rig, RX);
          sendFrames(rig, TX, [300, 301, 302, 303].map((i) => testFrame(i, 64)));
          const before = snapshot(rig);
          for (const r of [RX, TX]) eventfdWrite(rig.q(r).kickFd);
          await sleep(ctx.quietMs, ctx.signal);
          const suspended = `through the ${ctx.quietMs} ms after GET_VRING_BASE stopped both rings`;
          for (const [i, r] of [RX, TX].entries()) {
            if (rig.usedIdx(r) !== used[i]) return fail(`ring ${r}'s used.idx stays ${used[i]} ${suspended}`, `it moved to ${rig.usedIdx(r)}`);
          }
          const changed = firstChange(rig, before);
          if (changed !== undefined) return fail(`no guest-memory write ${suspended}`, changed);
          for (const r of [RX, TX]) {
            const calls = takeSignals(rig.q(r).callFd);
            if (calls !== 0) return fail(`no call-fd signal for ring ${r} ${suspended}`, `${calls} signal(s)`);
          }
          const sent = (await channel?.drain()) ?? [];
          if (sent.length > 0) return fail(`no back-end channel message ${suspended}`, `${sent.length} message(s), the first ${requestName(sent[0]!.request, Direction.BACKEND_TO_FRONTEND)}`);
          try {
            await rig.session.getFeatures();
          } catch (err) {
            return fail('GET_FEATURES is still answered while the device is suspended', (err as Error).message);
          }
          return pass(channel === undefined ? 'no back-end channel (BACKEND_REQ not offered)' : undefined);
        } finally {
          channel?.close();
        }
      });
    },
  },
]);

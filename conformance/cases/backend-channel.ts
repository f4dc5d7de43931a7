/**
 * What a back-end sends on the back-end channel (vhost-user.rst "Back-end communication";
 * CHECKLIST VU-BE-002/003): well-formed requests only (version 1, NEED_REPLY only with REPLY_ACK,
 * fds only with BACKEND_SEND_FD), and none whose feature was not negotiated. The checks come from
 * the request table (verify/backend-frame.ts).
 * @module
 */
import { ProtocolFeature, featureMask } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { withChannelRig, type BackendChannel } from '../verify/backend-channel.js';
import { backendFrameProblems, describeBackendFrame } from '../verify/backend-frame.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { IOMMU_NEEDS, IOMMU_RIG, awaitMiss, sendIotlb, wholeRam } from '../verify/iotlb.js';
import type { RingRig } from '../verify/ring-rig.js';
import { fail, pass, skip, type CheckResult } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';

const NET = ['net'] as const;
const SPEC = { doc: 'vhost-user', anchor: 'Back-end communication' } as const;

/** The first frame `channel` received with a problem of `kind`, as a mismatch. */
function firstProblem(rig: RingRig, channel: BackendChannel, kind: 'format' | 'gate', expected: string): CheckResult {
  for (const f of channel.received) {
    const p = backendFrameProblems(f, rig.session).find((x) => x.kind === kind);
    if (p !== undefined) return { expected: [expected], actual: `${p.text} (${describeBackendFrame(f)})` };
  }
  return undefined;
}

/** The back-end channel cases. */
export const backendChannelCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'protocol-features/backend-req/messages-well-formed',
    title: 'Back-end channel requests have version 1, no reply bit, NEED_REPLY only with REPLY_ACK and no fds without BACKEND_SEND_FD',
    area: 'protocol-features', requirements: ['VU-BE-002'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...IOMMU_NEEDS, loopingNet: true },
    spec: { ...SPEC, quote: 'Back-end requests use the same header as front-end ones (version 1); NEED_REPLY only when REPLY_ACK is negotiated; fds only with BACKEND_SEND_FD.' },
    description: 'Provokes back-end channel traffic the one way every such back-end must produce it: ACCESS_PLATFORM with an empty IOTLB makes the back-end send IOTLB misses. Maps RAM after the first miss, loops 16 frames, then checks every frame received (BACKEND_SEND_FD not negotiated, so none may carry an fd).',
    async run(ctx) {
      return withChannelRig(ctx, IOMMU_RIG, async (rig, channel) => {
        await awaitMiss(channel, ctx.waitMs);
        for (const u of wholeRam(rig)) await sendIotlb(rig, u);
        const loop = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        await channel.drain();
        if (channel.received.length === 0) return skip('the back-end sent nothing on the back-end channel, so there is no frame to check');
        ctx.note(`${channel.received.length} frame(s): ${channel.received.slice(0, 3).map(describeBackendFrame).join('; ')}`);
        const bad = firstProblem(rig, channel, 'format', 'every back-end channel frame well formed (VU-BE-002)');
        if (bad) return fail(bad.expected, bad.actual);
        return loop ? fail(loop.expected.map((e) => `precondition: ${e}`), loop.actual) : pass();
      });
    },
  },
  {
    id: 'protocol-features/backend-req/silent-without-gated-features',
    title: 'With only BACKEND_REQ and REPLY_ACK negotiated the back-end sends nothing on the back-end channel',
    // VU-SHOBJ-002's "sent only with SHARED_OBJECT acked" half; its UUID byte order is only
    // observable with an object whose UUID we know, and only the device exports one.
    area: 'protocol-features', requirements: ['VU-BE-003', 'VU-SHOBJ-002'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { protocolFeatures: [ProtocolFeature.BACKEND_REQ, ProtocolFeature.REPLY_ACK], loopingNet: true },
    spec: { ...SPEC, quote: 'Each back-end request is only sent once the feature it belongs to (ACCESS_PLATFORM, CONFIG, HOST_NOTIFIER, INBAND_NOTIFICATIONS, SHARED_OBJECT, SHMEM) is negotiated.' },
    description: 'Negotiates BACKEND_REQ and REPLY_ACK and no feature that gates a back-end request (no ACCESS_PLATFORM, CONFIG, HOST_NOTIFIER, INBAND_NOTIFICATIONS, SHARED_OBJECT, SHMEM), attaches the channel, loops 32 frames and waits the quiet window: nothing may arrive on the channel.',
    async run(ctx) {
      return withChannelRig(ctx, { protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.BACKEND_REQ) }, async (rig, channel) => {
        const loop = await loopCheck(rig, 0, { count: 32, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (loop) return fail(loop.expected.map((e) => `precondition: ${e}`), loop.actual);
        await sleep(ctx.quietMs, ctx.signal);
        await channel.drain();
        const ungated = firstProblem(rig, channel, 'gate', 'no back-end request whose feature was not negotiated (VU-BE-003)');
        if (ungated) return fail(ungated.expected, ungated.actual);
        if (channel.received.length > 0) return fail('nothing on the back-end channel: every back-end request needs a feature that was not negotiated', channel.received.map(describeBackendFrame).join('; '));
        return pass();
      });
    },
  },
]);

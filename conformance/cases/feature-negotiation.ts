/**
 * Virtio feature negotiation over vhost-user (vhost-user.rst `GET_FEATURES`, `SET_FEATURES`,
 * IDs 15/16 notes, "Ring states"; virtio "Feature Bits"; CHECKLIST §5.3 VU-FEAT).
 * @module
 */
import { FrontendRequest, ProtocolFeature, VirtioFeature, featureMask, hasFeature, u64, vringState } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { check, describeObservation, failAt, verdictOf, verifyAckZero, verifyRejected, verifyReply } from '../verify/index.js';
import { defaultProtocolFeatures, requestAndObserve } from './support/session-setup.js';

const PF30 = VirtioFeature.PROTOCOL_FEATURES;

/** virtio "Feature Bits": the device offers a fixed set of features; they do not change under the driver. */
const stable: ConformanceCase = {
  id: 'features/get-features/stable-within-session',
  title: 'GET_FEATURES returns the same value every time within a session',
  area: 'features',
  requirements: ['VU-FEAT-001'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'virtio', anchor: 'Feature Bits', quote: 'the device offers its feature bits; the offer does not change during negotiation' },
  description: 'Asks GET_FEATURES three times around GET/SET_PROTOCOL_FEATURES and SET_OWNER and compares.',
  async run(ctx) {
    const s = await ctx.openSession();
    const seen: bigint[] = [await s.getFeatures()];
    if (hasFeature(seen[0]!, PF30)) {
      await s.getProtocolFeatures();
      await s.setProtocolFeatures(defaultProtocolFeatures(ctx.peer));
    }
    seen.push(await s.getFeatures());
    await s.setOwner();
    seen.push(await s.getFeatures());
    const hex = seen.map((f) => `0x${f.toString(16)}`);
    return verdictOf([check(new Set(seen).size === 1, [`three equal values (first ${hex[0]})`], hex.join(', '))]);
  },
};

/** IDs 15/16: "may be sent before SET_FEATURES" when bit 30 is offered. */
const pfBeforeSetFeatures: ConformanceCase = {
  id: 'features/protocol-features/before-set-features',
  title: 'GET/SET_PROTOCOL_FEATURES work before any SET_FEATURES',
  area: 'features',
  requirements: ['VU-FEAT-002'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'GET_PROTOCOL_FEATURES', quote: 'if VHOST_USER_F_PROTOCOL_FEATURES is offered, GET/SET_PROTOCOL_FEATURES may be sent before SET_FEATURES' },
  description: 'First messages: GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES; with REPLY_ACK agreed, SET_OWNER with NEED_REPLY must then be acked 0 (the protocol features took effect without SET_FEATURES).',
  needs: { features: [PF30] },
  async run(ctx) {
    const s = await ctx.openSession();
    await s.getFeatures();
    const o = await requestAndObserve(ctx, s, FrontendRequest.GET_PROTOCOL_FEATURES);
    const c = verifyReply(o, FrontendRequest.GET_PROTOCOL_FEATURES, 8);
    if (!c.ok) return failAt('GET_PROTOCOL_FEATURES before SET_FEATURES', c);
    await s.setProtocolFeatures(defaultProtocolFeatures(ctx.peer));
    if (!s.replyAck) return verdictOf([c], 'REPLY_ACK not offered: SET_PROTOCOL_FEATURES taking effect not observable');
    const a = await requestAndObserve(ctx, s, FrontendRequest.SET_OWNER, undefined, { needReply: true });
    return verdictOf([verifyAckZero(a, FrontendRequest.SET_OWNER)]);
  },
};

/** virtio "Feature Bits": the driver must not accept a feature the device did not offer; the device refuses the set. */
const unoffered: ConformanceCase = {
  id: 'features/set-features/unoffered-bit-rejected',
  title: 'SET_FEATURES with a bit that was not offered is refused',
  area: 'features',
  requirements: ['VU-FEAT-006'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'virtio', anchor: 'Feature Bits', quote: 'the driver must not accept a feature which the device did not offer' },
  description: 'With REPLY_ACK in force, sends SET_FEATURES (offered VERSION_1/bit 30 plus one unoffered bit) with NEED_REPLY; expects a non-zero ack or a close.',
  needs: { protocolFeatures: [ProtocolFeature.REPLY_ACK] },
  async run(ctx) {
    const s = await ctx.openSession();
    const offered = await s.getFeatures();
    await s.getProtocolFeatures();
    await s.setProtocolFeatures(defaultProtocolFeatures(ctx.peer));
    await s.setOwner();
    let bit = -1;
    for (let b = 0; b < 64; b++) if (b !== PF30 && !hasFeature(offered, b)) { bit = b; break; }
    if (bit < 0) return { status: 'skip', reason: 'the back-end offers every bit' };
    const value = (offered & featureMask(VirtioFeature.VERSION_1, PF30)) | featureMask(bit);
    ctx.note(`unoffered bit ${bit}; SET_FEATURES 0x${value.toString(16)}`);
    const o = await requestAndObserve(ctx, s, FrontendRequest.SET_FEATURES, u64.encode(value), { needReply: true });
    return verdictOf([verifyRejected(o, FrontendRequest.SET_FEATURES, `bit ${bit} was not offered`)]);
  },
};

/**
 * IDs 15/16 notes: protocol features "need not be acknowledged by SET_FEATURES" — so a later
 * SET_FEATURES without bit 30 does not switch them off; "Ring states": without bit 30 rings are
 * enabled at once.
 */
const pfSurvive: ConformanceCase = {
  id: 'features/protocol-features/survive-set-features-without-bit-30',
  title: 'Protocol features stay in force after SET_FEATURES without bit 30',
  area: 'features',
  requirements: ['VU-FEAT-009'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'SET_PROTOCOL_FEATURES', quote: 'protocol features negotiated via IDs 15/16 need not be acknowledged by SET_FEATURES' },
  description: 'Agrees REPLY_ACK, sends SET_OWNER and SET_FEATURES with VERSION_1 only (no bit 30), then SET_VRING_NUM with NEED_REPLY: the ack must still come, with status 0.',
  needs: { features: [PF30], protocolFeatures: [ProtocolFeature.REPLY_ACK] },
  async run(ctx) {
    const s = await ctx.openSession();
    const offered = await s.getFeatures();
    await s.getProtocolFeatures();
    await s.setProtocolFeatures(defaultProtocolFeatures(ctx.peer));
    await s.setOwner();
    const o1 = await requestAndObserve(ctx, s, FrontendRequest.SET_FEATURES, u64.encode(offered & featureMask(VirtioFeature.VERSION_1)), { needReply: true });
    ctx.note(`SET_FEATURES without bit 30: ${describeObservation(o1)}`);
    const o = await requestAndObserve(ctx, s, FrontendRequest.SET_VRING_NUM, vringState.encode({ index: 0, num: 256 }), { needReply: true });
    return verdictOf([verifyAckZero(o, FrontendRequest.SET_VRING_NUM)]);
  },
};

/** Every feature-negotiation case, in run order. */
export const featureNegotiationCases: readonly ConformanceCase[] = [stable, pfBeforeSetFeatures, unoffered, pfSurvive];

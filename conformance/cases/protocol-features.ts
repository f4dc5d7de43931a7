/**
 * Protocol features and REPLY_ACK (vhost-user.rst "Protocol features", "REPLY_ACK",
 * "Multiple queue support"; CHECKLIST §5.4 VU-PF).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { closeFd, socketPair } from '../../native/index.js';
import { sendMemoryTable } from '../../fakes/frontend/index.js';
import {
  FrontendRequest, ProtocolFeature, VirtioFeature, buildRawMessage, featureMask, hasFeature, payloads, requestName, u64, vringAddr, vringState,
} from '../../fakes/wire/index.js';
import type { CaseContext, ConformanceCase, Verdict } from '../model.js';
import {
  check, describeObservation, failAt, observeNext, replyU64, verdictOf, verifyAckZero, verifyRejected, verifyRejectedOrIgnored, verifyReply,
  type Check,
} from '../verify/index.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { OneRing, negotiateDefault, requestAndObserve, sendMessage } from './support/session-setup.js';

const RA = ProtocolFeature.REPLY_ACK;
const PF30 = VirtioFeature.PROTOCOL_FEATURES;

/**
 * "Protocol features": the back-end lists the features it implements. The basic message of each
 * offered feature that needs no device-specific setup must work: MQ → GET_QUEUE_NUM ≥ 1,
 * CONFIGURE_MEM_SLOTS → GET_MAX_MEM_SLOTS ≥ 1, REPLY_ACK → an ack for NEED_REPLY.
 */
const offeredWork: ConformanceCase = {
  id: 'protocol-features/offered/basic-messages-work',
  title: 'Offered MQ, CONFIGURE_MEM_SLOTS and REPLY_ACK answer their basic messages',
  area: 'protocol-features',
  requirements: ['VU-PF-001', 'VU-MQ-001', 'VU-MEM-011'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Protocol features', quote: 'the back-end lists the protocol features it supports' },
  description: 'Agrees every offered feature, then: GET_QUEUE_NUM (MQ) ≥ 1, GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS) ≥ 1, SET_OWNER with NEED_REPLY acked 0 (REPLY_ACK).',
  needs: { features: [PF30] },
  async run(ctx) {
    const s = await ctx.openSession();
    await s.getFeatures();
    await s.getProtocolFeatures();
    const pf = ctx.peer.protocolFeatures;
    await s.setProtocolFeatures(pf);
    const checks: Check[] = [];
    for (const [bit, request] of [[ProtocolFeature.MQ, FrontendRequest.GET_QUEUE_NUM], [ProtocolFeature.CONFIGURE_MEM_SLOTS, FrontendRequest.GET_MAX_MEM_SLOTS]] as const) {
      if (!hasFeature(pf, bit)) continue;
      const o = await requestAndObserve(ctx, s, request);
      const c = verifyReply(o, request, 8);
      if (!c.ok) return failAt(requestName(request), c);
      const v = replyU64(o)!;
      checks.push(check(v >= 1n, [`${requestName(request)} ≥ 1`], `${v}`));
    }
    if (hasFeature(pf, RA)) checks.push(verifyAckZero(await requestAndObserve(ctx, s, FrontendRequest.SET_OWNER, undefined, { needReply: true }), FrontendRequest.SET_OWNER));
    if (checks.length === 0) return { status: 'skip', reason: 'none of MQ, CONFIGURE_MEM_SLOTS, REPLY_ACK is offered' };
    return verdictOf(checks);
  },
};

/** Gated ack-type messages and the protocol feature that gates each. */
function gatedMessage(ctx: CaseContext): { bit: number; request: number; body: Uint8Array; fds: () => number[] } | undefined {
  const pf = ctx.peer.protocolFeatures;
  if (hasFeature(pf, ProtocolFeature.MTU) && ctx.peer.deviceType === 'net') return { bit: ProtocolFeature.MTU, request: FrontendRequest.NET_SET_MTU, body: u64.encode(1500n), fds: () => [] };
  if (hasFeature(pf, ProtocolFeature.STATUS)) return { bit: ProtocolFeature.STATUS, request: FrontendRequest.SET_STATUS, body: u64.encode(1n), fds: () => [] };
  if (hasFeature(pf, ProtocolFeature.BACKEND_REQ)) return { bit: ProtocolFeature.BACKEND_REQ, request: FrontendRequest.SET_BACKEND_REQ_FD, body: new Uint8Array(0), fds: () => socketPair() };
  return undefined;
}

/** "Protocol features": a feature the front-end did not ack is off; its messages are not valid. */
const unackedOff: ConformanceCase = {
  id: 'protocol-features/gating/unacked-feature-is-off',
  title: 'A message of an offered but unacked protocol feature is refused',
  area: 'protocol-features',
  requirements: ['VU-PF-002'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Protocol features', quote: 'only features acked by SET_PROTOCOL_FEATURES are in force' },
  description: 'Acks REPLY_ACK only, then sends a gated ack-type message (NET_SET_MTU, SET_STATUS or SET_BACKEND_REQ_FD) with NEED_REPLY; expects a non-zero ack or a close.',
  needs: { protocolFeatures: [RA] },
  async run(ctx): Promise<Verdict> {
    const g = gatedMessage(ctx);
    if (!g) return { status: 'skip', reason: 'the back-end offers none of MTU, STATUS, BACKEND_REQ' };
    const s = await ctx.openSession();
    await negotiateDefault(s, ctx.peer, featureMask(RA));
    const fds = g.fds();
    const sent = g.request === FrontendRequest.SET_BACKEND_REQ_FD ? [fds[1]!] : [];
    try {
      const o = await requestAndObserve(ctx, s, g.request, g.body, { needReply: true, fds: sent });
      return verdictOf([verifyRejected(o, g.request, `${Object.keys(ProtocolFeature).find((k) => ProtocolFeature[k as keyof typeof ProtocolFeature] === g.bit)} was not acked`)]);
    } finally {
      for (const fd of fds) closeFd(fd);
    }
  },
};

/**
 * "REPLY_ACK": with it negotiated, a message without a defined reply sent with NEED_REPLY gets a
 * u64 reply — 0 on success. The sweep covers QEMU's whole ring bring-up.
 */
const ackSweep: ConformanceCase = {
  id: 'protocol-features/reply-ack/success-acked-zero',
  title: 'Every message of QEMU\'s start sequence sent with NEED_REPLY gets one ack with status 0',
  area: 'protocol-features',
  requirements: ['VU-PF-003'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'REPLY_ACK', quote: 'with REPLY_ACK negotiated, a message with NEED_REPLY gets a u64 reply: zero for success, non-zero for failure' },
  description: 'With REPLY_ACK, runs SET_OWNER, SET_FEATURES, the memory table and NUM/BASE/ADDR/KICK/CALL/ENABLE for ring 0, each with NEED_REPLY; every ack must be 0 (the session helper checks flags, request and size).',
  needs: { protocolFeatures: [RA] },
  async run(ctx) {
    const ring = OneRing.create(64);
    try {
      const s = await ctx.openSession();
      // negotiate()/start() send every ack-type message with NEED_REPLY when REPLY_ACK is in force
      // and throw RequestFailedError (a fail verdict) on a non-zero status.
      await negotiateDefault(s, ctx.peer);
      await ring.start(s, 0);
      const extra = await observeNext(s, ctx.quietMs);
      return verdictOf([check(extra.kind === 'timeout', ['one ack per request, nothing more'], describeObservation(extra))],
        `acked: ${s.messages.filter((m) => m.dir === 'received').length} replies`);
    } finally {
      ring.close();
    }
  },
};

/** Invalid arguments that must be refused (CHECKLIST VU-PF-004 "Observe"). */
const FAILURES: { slug: string; level: 'SHOULD' | 'MUST'; why: string; net?: boolean; bit?: number; build: (ring: OneRing) => { request: number; body: Uint8Array } }[] = [
  { slug: 'set-vring-num-zero', level: 'SHOULD', why: 'a queue size of 0', build: () => ({ request: FrontendRequest.SET_VRING_NUM, body: vringState.encode({ index: 0, num: 0 }) }) },
  { slug: 'set-vring-num-65536', level: 'SHOULD', why: 'a queue size above 32768', build: () => ({ request: FrontendRequest.SET_VRING_NUM, body: vringState.encode({ index: 0, num: 65536 }) }) },
  {
    slug: 'set-vring-addr-outside-memory', level: 'SHOULD', why: 'ring addresses outside every memory region',
    build: () => ({ request: FrontendRequest.SET_VRING_ADDR, body: vringAddr.encode({ index: 0, flags: 0, descAddr: 0x10n, usedAddr: 0x2000n, availAddr: 0x1000n, logGuestAddr: 0n }) }),
  },
  { slug: 'net-set-mtu-out-of-range', level: 'MUST', net: true, bit: ProtocolFeature.MTU, why: 'an MTU of 65536', build: () => ({ request: FrontendRequest.NET_SET_MTU, body: u64.encode(65536n) }) },
];

/** "REPLY_ACK": failure is reported with a non-zero status, not swallowed; `NET_SET_MTU` must nack bad values. */
const failureCases: ConformanceCase[] = FAILURES.map((f) => ({
  id: `protocol-features/reply-ack/failure-reported/${f.slug}`,
  title: `REPLY_ACK reports failure for ${f.why}`,
  area: 'protocol-features',
  requirements: f.net ? ['VU-PF-004', 'VU-CFG-005'] : ['VU-PF-004'],
  level: f.level,
  role: 'backend',
  ...(f.net ? { deviceTypes: ['net'] as const } : {}),
  spec: { doc: 'vhost-user', anchor: 'REPLY_ACK', quote: 'non-zero for failure' },
  description: `With REPLY_ACK and a memory table in force, sends a request with ${f.why} and NEED_REPLY; expects a non-zero ack or a close.`,
  needs: { protocolFeatures: f.bit !== undefined ? [RA, f.bit] : [RA] },
  async run(ctx: CaseContext): Promise<Verdict> {
    const ring = OneRing.create(64);
    try {
      const s = await ctx.openSession();
      await negotiateDefault(s, ctx.peer, (ctx.peer.protocolFeatures & featureMask(RA, ProtocolFeature.MQ, ProtocolFeature.CONFIGURE_MEM_SLOTS)) | (f.bit !== undefined ? featureMask(f.bit) : 0n));
      if (f.slug.startsWith('set-vring-addr')) {
        await sendMemoryTable(s, ring.memory);
        await s.setVringNum(0, 64);
        await s.setVringBase(0, 0);
      }
      const { request, body } = f.build(ring);
      const o = await requestAndObserve(ctx, s, request, body, { needReply: true });
      return verdictOf([verifyRejected(o, request, f.why)]);
    } finally {
      ring.close();
    }
  },
}));

/**
 * RVMM fix e294ed66 ("Fix NEED_REPLY for all messages"); CHECKLIST D6: whether the message that
 * negotiates REPLY_ACK owes an ack is unstated, hence SHOULD.
 */
const setPfAcked: ConformanceCase = {
  id: 'protocol-features/reply-ack/set-protocol-features-acked',
  title: 'SET_PROTOCOL_FEATURES (with REPLY_ACK) sent with NEED_REPLY is acked',
  area: 'protocol-features',
  requirements: ['VU-PF-005'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'REPLY_ACK', quote: 'a back-end offering REPLY_ACK acks every NEED_REPLY message, including SET_PROTOCOL_FEATURES' },
  description: 'Sends SET_PROTOCOL_FEATURES including REPLY_ACK with NEED_REPLY; expects one ack with status 0.',
  needs: { protocolFeatures: [RA] },
  async run(ctx) {
    const s = await ctx.openSession();
    await s.getFeatures();
    await s.getProtocolFeatures();
    const o = await requestAndObserve(ctx, s, FrontendRequest.SET_PROTOCOL_FEATURES, u64.encode(ctx.peer.protocolFeatures & featureMask(RA, ProtocolFeature.MQ)), { needReply: true });
    return verdictOf([verifyAckZero(o, FrontendRequest.SET_PROTOCOL_FEATURES)]);
  },
};

/** "Multiple queue support": back-ends should implement MQ even for devices with a fixed number of queues. */
const mqOffered: ConformanceCase = {
  id: 'protocol-features/mq/offered',
  title: 'The back-end offers the MQ protocol feature',
  area: 'protocol-features',
  requirements: ['VU-PF-008'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Multiple queue support', quote: 'back-ends should implement the MQ protocol feature, even for fixed-queue devices' },
  description: 'Checks bit 0 (MQ) of GET_PROTOCOL_FEATURES as probed at the start of the run.',
  needs: { features: [PF30] },
  async run(ctx) {
    return verdictOf([check(hasFeature(ctx.peer.protocolFeatures, ProtocolFeature.MQ), ['protocol feature bit 0 (MQ) offered'], `protocol features 0x${ctx.peer.protocolFeatures.toString(16)}`)]);
  },
};

/**
 * ID 21 SET_BACKEND_REQ_FD: sent only when BACKEND_REQ was negotiated; with REPLY_ACK the
 * back-end acks it 0 (QEMU treats a non-zero ack as a failed device start).
 */
const backendReqFdAcked: ConformanceCase = {
  id: 'protocol-features/backend-req/set-backend-req-fd-acked',
  title: 'With BACKEND_REQ and REPLY_ACK agreed, SET_BACKEND_REQ_FD is acked 0',
  area: 'protocol-features',
  requirements: ['VU-BE-001'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'VHOST_USER_SET_BACKEND_REQ_FD', quote: 'This message is only sent if VHOST_USER_PROTOCOL_F_BACKEND_REQ has been negotiated; if VHOST_USER_PROTOCOL_F_REPLY_ACK is negotiated, the back-end must respond with zero for success.' },
  description: 'Negotiates REPLY_ACK and BACKEND_REQ as QEMU does (SET_OWNER, SET_FEATURES), then sends SET_BACKEND_REQ_FD with one end of a socket pair and NEED_REPLY; expects one ack with status 0.',
  needs: { protocolFeatures: [RA, ProtocolFeature.BACKEND_REQ] },
  async run(ctx) {
    const s = await ctx.openSession();
    await negotiateDefault(s, ctx.peer, ctx.peer.protocolFeatures & featureMask(RA, ProtocolFeature.BACKEND_REQ));
    const [ours, theirs] = socketPair();
    try {
      const o = await requestAndObserve(ctx, s, FrontendRequest.SET_BACKEND_REQ_FD, undefined, { needReply: true, fds: [theirs] });
      return verdictOf([verifyAckZero(o, FrontendRequest.SET_BACKEND_REQ_FD)]);
    } finally {
      closeFd(ours);
      closeFd(theirs);
    }
  },
};

/**
 * RVMM 9756a7d: a back-end that locked up when its back-end channel failed. The front-end may
 * close its end of the channel at any time (QEMU does when it tears the channel down); the
 * device must go on serving the front-end socket and the rings.
 */
const backendChannelClosed: ConformanceCase = {
  id: 'protocol-features/backend-req/closed-channel-tolerated',
  title: 'After the front-end closes its end of the back-end channel, the device still answers and moves traffic',
  area: 'protocol-features',
  requirements: ['VU-BE-004'],
  level: 'ROBUST',
  role: 'backend',
  deviceTypes: ['net'],
  spec: { doc: 'vhost-user', anchor: 'Back-end communication', quote: 'Failures and a closed back-end channel must not make the back-end crash or stop serving the front-end.' },
  description: 'Negotiates REPLY_ACK and BACKEND_REQ, sends SET_BACKEND_REQ_FD with one end of a socket pair and closes the other end at once; then sets up pair 0, loops 16 frames and asks GET_FEATURES: all must work.',
  needs: { protocolFeatures: [RA, ProtocolFeature.BACKEND_REQ], loopingNet: true },
  async run(ctx) {
    return withRig(ctx, { protocolFeatures: featureMask(RA, ProtocolFeature.BACKEND_REQ) }, async (rig) => {
      if (!hasFeature(rig.session.protocolFeatures, ProtocolFeature.BACKEND_REQ)) return fail('BACKEND_REQ negotiated', 'it was not acked');
      const [ours, theirs] = socketPair();
      try {
        await rig.session.command(FrontendRequest.SET_BACKEND_REQ_FD, new Uint8Array(0), [theirs]);
      } finally {
        closeFd(theirs);
        closeFd(ours);
      }
      await rig.startAll();
      const bad = await loopCheck(rig, 0, { count: 16, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
      if (bad) return fail(bad.expected.map((e) => `with the back-end channel closed: ${e}`), bad.actual);
      await rig.session.getFeatures();
      return pass();
    });
  },
};

/**
 * Protocol bits 20–22 were renumbered while SHMEM was under review (CHECKLIST D1): QEMU's text
 * has 21 = GPA_ADDRESSES and 22 = SHMEM, while rust-vmm `vhost` had SHMEM at 21 for a while. A
 * back-end that offers 21 but means SHMEM by it serves GET_SHMEM_CONFIG to a front-end that only
 * asked for GPA addresses, and the two sides disagree about every address they exchange.
 */
const bit21NotShmem: ConformanceCase = {
  id: 'protocol-features/numbering/bit-21-does-not-enable-shmem',
  title: 'Protocol bit 21 is GPA_ADDRESSES: with it acked and SHMEM (22) not, GET_SHMEM_CONFIG is refused',
  area: 'protocol-features',
  requirements: ['VU-PF-009'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Protocol features', quote: 'VHOST_USER_PROTOCOL_F_GPA_ADDRESSES 21, VHOST_USER_PROTOCOL_F_SHMEM 22' },
  description: 'Where bit 21 is offered: acks it (with REPLY_ACK where offered) but not bit 22, then sends GET_SHMEM_CONFIG (44) with NEED_REPLY; expects a non-zero ack, a close or no answer, never a shared-memory configuration.',
  needs: { protocolFeatures: [ProtocolFeature.GPA_ADDRESSES] },
  async run(ctx): Promise<Verdict> {
    const s = await ctx.openSession();
    const acked = featureMask(ProtocolFeature.GPA_ADDRESSES) | (ctx.peer.protocolFeatures & featureMask(RA));
    await negotiateDefault(s, ctx.peer, acked);
    const o = await requestAndObserve(ctx, s, FrontendRequest.GET_SHMEM_CONFIG, new Uint8Array(0), { needReply: true });
    if (o.kind === 'reply' && o.request === FrontendRequest.GET_SHMEM_CONFIG && o.size === payloads.shmemConfig.SIZE) {
      const cfg = payloads.shmemConfig.decode(o.body);
      return fail(
        ['a non-zero REPLY_ACK for GET_SHMEM_CONFIG (SHMEM is bit 22 and was not acked)', 'the back-end closes the connection', 'no reply'],
        `a shared-memory configuration with ${cfg.nregions} region(s): the back-end treats bit 21 as SHMEM (the numbering rust-vmm vhost used before it followed QEMU, CHECKLIST D1)`,
      );
    }
    return verdictOf([verifyRejectedOrIgnored(o, FrontendRequest.GET_SHMEM_CONFIG, 'SHMEM is bit 22 and was not acked')]);
  },
};

/**
 * "VHOST_USER_GET_SHARED_OBJECT": the back-end looks the UUID up among the objects exported to
 * it (SHARED_OBJECT_ADD from another back-end) and attaches the dma-buf fd when found, none
 * otherwise. A UUID nobody exported must come back with no fd: an fd there is some other object.
 */
const unknownSharedObject: ConformanceCase = {
  id: 'protocol-features/shared-object/unknown-uuid-has-no-fd',
  title: 'GET_SHARED_OBJECT for a UUID nobody exported is answered with no fd',
  area: 'protocol-features',
  requirements: ['VU-SHOBJ-001'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'VHOST_USER_GET_SHARED_OBJECT', quote: 'the back-end replies with the dma-buf fd of the object if it is found, and with no fd otherwise' },
  description: 'Where SHARED_OBJECT is offered: acks it (with REPLY_ACK where offered), sends GET_SHARED_OBJECT for a random version-4 UUID that no back-end exported: the reply must carry no fd (a refusal or close is also accepted).',
  needs: { protocolFeatures: [ProtocolFeature.SHARED_OBJECT] },
  async run(ctx): Promise<Verdict> {
    const s = await ctx.openSession();
    await negotiateDefault(s, ctx.peer, featureMask(ProtocolFeature.SHARED_OBJECT) | (ctx.peer.protocolFeatures & featureMask(RA)));
    const uuid = randomUUIDBytes();
    sendMessage(s, buildRawMessage(FrontendRequest.GET_SHARED_OBJECT, payloads.sharedObject.encode({ uuid }), { needReply: false }));
    const o = await observeNext(s, ctx.waitMs, { awaiting: FrontendRequest.GET_SHARED_OBJECT, keepFds: true });
    const expected = [`a reply to GET_SHARED_OBJECT for ${payloads.uuidToString(uuid)} with no fd`, 'a refusal', 'the back-end closes the connection'];
    if (o.kind === 'closed') return pass('the back-end closed the connection');
    if (o.kind !== 'reply' || o.request !== FrontendRequest.GET_SHARED_OBJECT) return fail(expected, describeObservation(o));
    for (const fd of o.fds) closeFd(fd);
    if (o.fds.length > 0) return fail(expected, `${o.fds.length} fd(s) attached for an object nobody exported`);
    return pass(`reply of ${o.size} bytes, no fd`);
  },
};

/** A random RFC 4122 version-4 UUID in wire order. */
function randomUUIDBytes(): Uint8Array {
  const hex = randomUUID().replaceAll('-', '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** Every protocol-feature case, in run order. */
export const protocolFeatureCases: readonly ConformanceCase[] = [
  offeredWork, unackedOff, ackSweep, ...failureCases, setPfAcked, mqOffered, backendReqFdAcked, backendChannelClosed, bit21NotShmem, unknownSharedObject,
];


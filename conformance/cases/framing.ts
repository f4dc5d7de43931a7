/**
 * Framing and generic message handling (vhost-user.rst "Message Specification": "Header",
 * "Communication", "REPLY_ACK"; CHECKLIST §1 and §5.1 VU-MSG).
 *
 * These cases build messages by hand where the point is a malformed frame; the byte layout of the
 * header is `u32 request | u32 flags | u32 size`, host byte order, then `size` payload bytes.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import {
  FrontendRequest, ProtocolFeature, encodeHeader, encodeRaw, memRegion, requestName, u64, vringFd, vringState,
} from '../../fakes/wire/index.js';
import type { CaseContext, ConformanceCase, PeerInfo, Verdict } from '../model.js';
import {
  FdProbes, check, describeObservation, failAt, observeNext, verdictOf, verifyRejected, verifyReply, verifyStillServing, type Check,
} from '../verify/index.js';
import { negotiateDefault, offersReplyAck, requestAndObserve, sendMessage, sleep } from './support/session-setup.js';

const REPLY_ACK = ProtocolFeature.REPLY_ACK;

/** Opens a session and negotiates REPLY_ACK (plus MQ / CONFIGURE_MEM_SLOTS) and ownership. */
async function ackSession(ctx: CaseContext): Promise<FrontendSession> {
  const s = await ctx.openSession();
  await negotiateDefault(s, ctx.peer);
  return s;
}

/** The always-reply requests this peer answers, with their reply sizes. */
function alwaysReplyRequests(peer: PeerInfo): { request: number; size: number }[] {
  const out: { request: number; size: number }[] = [{ request: FrontendRequest.GET_FEATURES, size: 8 }];
  if (peer.features & (1n << 30n)) out.push({ request: FrontendRequest.GET_PROTOCOL_FEATURES, size: 8 });
  if (peer.protocolFeatures & (1n << BigInt(ProtocolFeature.MQ))) out.push({ request: FrontendRequest.GET_QUEUE_NUM, size: 8 });
  if (peer.protocolFeatures & (1n << BigInt(ProtocolFeature.CONFIGURE_MEM_SLOTS))) out.push({ request: FrontendRequest.GET_MAX_MEM_SLOTS, size: 8 });
  return out;
}

/**
 * "Header": bits 0–1 of flags are the version (1), bit 2 is the reply flag; QEMU's reader accepts
 * a reply only when flags == 0x5 exactly and the request field names the request it answers.
 * The payload of GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM and GET_MAX_MEM_SLOTS
 * replies is a u64 (size 8).
 */
const replyHeader: ConformanceCase = {
  id: 'framing/reply-header/flags-request-size',
  title: 'Replies carry flags exactly 0x5, echo the request and have the defined size',
  area: 'framing',
  requirements: ['VU-MSG-001', 'VU-MSG-002', 'VU-MSG-003'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Header', quote: 'a reply has version 1 and the reply flag set (flags 0x5); its request field is the request answered; u64 replies are 8 bytes' },
  description: 'Sends each always-reply GET with and without NEED_REPLY before SET_OWNER and checks the reply header; nothing else may follow.',
  async run(ctx) {
    const s = await ctx.openSession();
    const checks: Check[] = [];
    for (const { request, size } of alwaysReplyRequests(ctx.peer)) {
      for (const needReply of [false, true]) {
        // GET_QUEUE_NUM / GET_MAX_MEM_SLOTS are gated by protocol features: agree to them first.
        if (request === FrontendRequest.GET_QUEUE_NUM || request === FrontendRequest.GET_MAX_MEM_SLOTS) {
          if (s.protocolFeatures === 0n) await s.setProtocolFeatures(ctx.peer.protocolFeatures);
        }
        const o = await requestAndObserve(ctx, s, request, undefined, { needReply: needReply && s.replyAck });
        const c = verifyReply(o, request, size);
        if (!c.ok) return failAt(`${requestName(request)}${needReply && s.replyAck ? ' with NEED_REPLY' : ''}`, c);
        checks.push(c);
      }
    }
    const extra = await observeNext(s, ctx.quietMs);
    checks.push(check(extra.kind === 'timeout', ['nothing after the last reply'], describeObservation(extra)));
    return verdictOf(checks);
  },
};

/**
 * "REPLY_ACK": messages that already reply gain nothing from NEED_REPLY — there is no second
 * reply (the libvhost-user ADD_MEM_REG/GET_MAX_MEM_SLOTS double-reply fix).
 */
const oneReply: ConformanceCase = {
  id: 'framing/need-reply/one-reply-for-always-reply-messages',
  title: 'A message that always replies gets exactly one reply when NEED_REPLY is set',
  area: 'framing',
  requirements: ['VU-MSG-009'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'REPLY_ACK', quote: 'messages that always reply do not get an additional ack when NEED_REPLY is set' },
  description: 'With REPLY_ACK in force, sends each always-reply GET with NEED_REPLY and checks that the reply is alone within the quiet window.',
  needs: { protocolFeatures: [REPLY_ACK] },
  async run(ctx) {
    const s = await ackSession(ctx);
    for (const { request, size } of alwaysReplyRequests(ctx.peer)) {
      const o = await requestAndObserve(ctx, s, request, undefined, { needReply: true });
      const c = verifyReply(o, request, size);
      if (!c.ok) return failAt(requestName(request), c);
      const extra = await observeNext(s, ctx.quietMs);
      if (extra.kind !== 'timeout') {
        return { status: 'fail', expected: [`exactly one reply to ${requestName(request)} with NEED_REPLY`], actual: `a second message: ${describeObservation(extra)}` };
      }
    }
    return { status: 'pass' };
  },
};

/**
 * vhost-user runs over a unix *stream* socket: the header and payload may arrive in any number of
 * reads. (ROBUST: no spec sentence, but nothing in the stream preserves write boundaries.)
 */
const inPieces: ConformanceCase = {
  id: 'framing/stream/message-in-pieces',
  title: 'A message whose header and payload arrive in several reads is reassembled',
  area: 'framing',
  requirements: ['VU-MSG-004'],
  level: 'ROBUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'messages are exchanged over a unix stream socket' },
  description: 'Sends GET_FEATURES one header byte at a time with 10 ms gaps, then SET_VRING_NUM with NEED_REPLY in 1-byte pieces; expects the normal reply and ack.',
  async run(ctx) {
    const s = await ctx.openSession();
    const sendSlowly = async (bytes: Uint8Array): Promise<boolean> => {
      for (let i = 0; i < bytes.length; i++) {
        try {
          s.connection.sendBytes(bytes.subarray(i, i + 1));
        } catch {
          return false;
        }
        await sleep(10, ctx.signal);
      }
      return true;
    };
    ctx.note('sending GET_FEATURES header 1 byte per write, 10 ms apart');
    await sendSlowly(encodeHeader({ request: FrontendRequest.GET_FEATURES, flags: 1, size: 0 }));
    const o = await observeNext(s, ctx.waitMs, { awaiting: FrontendRequest.GET_FEATURES });
    const c = verifyReply(o, FrontendRequest.GET_FEATURES, 8);
    if (!c.ok) return failAt('GET_FEATURES sent in 12 pieces', c);
    if (!offersReplyAck(ctx.peer)) return { status: 'pass', detail: 'payload part not checked: no REPLY_ACK to observe it' };
    await negotiateDefault(s, ctx.peer);
    ctx.note('sending SET_VRING_NUM {index 0, num 256} with NEED_REPLY, 1 byte per write');
    await sendSlowly(encodeRaw({ request: FrontendRequest.SET_VRING_NUM, flags: 0x9, size: 8, body: vringState.encode({ index: 0, num: 256 }), fds: [] }));
    const a = await observeNext(s, ctx.waitMs, { awaiting: FrontendRequest.SET_VRING_NUM });
    const ack = verifyReply(a, FrontendRequest.SET_VRING_NUM, 8);
    if (!ack.ok) return failAt('SET_VRING_NUM sent in 20 pieces', ack);
    return verdictOf([check(u64.decode(a.kind === 'reply' ? a.body : new Uint8Array(8)) === 0n, ['ack status 0 for a valid SET_VRING_NUM'], describeObservation(a))]);
  },
};

/**
 * "Header": size is the payload length; the payload is a union whose largest member bounds what a
 * front-end ever sends. A size beyond it must be rejected, not trusted. (ROBUST; DPDK and
 * libvhost-user check it.)
 */
const oversize: ConformanceCase = {
  id: 'framing/size/oversize-payload-rejected',
  title: 'A message claiming a 64 KiB payload is rejected and the back-end serves the next connection',
  area: 'framing',
  requirements: ['VU-MSG-005'],
  level: 'ROBUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Header', quote: 'size: the number of payload bytes; the payload is the union of the defined bodies' },
  description: 'Sends GET_FEATURES with size 0xFFFF and 0xFFFF zero bytes; expects a close or an error ack (not the features), then a new connection works.',
  async run(ctx) {
    const s = await ctx.openSession();
    sendMessage(s, { request: FrontendRequest.GET_FEATURES, flags: 1, size: 0xffff, body: new Uint8Array(0xffff), fds: [] });
    const o = await observeNext(s, ctx.waitMs, { awaiting: FrontendRequest.GET_FEATURES });
    // Answering with the device's features would mean the frame was taken as valid; a hang means
    // the back-end is reading a payload no request has. A close or any error reply is a refusal.
    const answeredAsValid = o.kind === 'reply' && o.request === FrontendRequest.GET_FEATURES && o.size === 8 && u64.decode(o.body) === ctx.peer.features;
    const first = check(o.kind === 'closed' || (o.kind === 'reply' && !answeredAsValid),
      ['the back-end closes the connection (the size exceeds every payload)', 'an error reply'], describeObservation(o));
    if (!first.ok) return failAt('GET_FEATURES with size 0xFFFF', first);
    s.close();
    const s2 = await ctx.openSession();
    const r = await requestAndObserve(ctx, s2, FrontendRequest.GET_FEATURES);
    const again = verifyReply(r, FrontendRequest.GET_FEATURES, 8);
    return again.ok ? { status: 'pass' } : failAt('GET_FEATURES on a new connection', again);
  },
};

/** Fixed-size payloads sent short (CHECKLIST VU-MSG-006 "Observe"). */
const TRUNCATED: { slug: string; request: number; full: number; body: Uint8Array; why: string }[] = [
  { slug: 'set-features', request: FrontendRequest.SET_FEATURES, full: 8, body: new Uint8Array(4), why: 'a u64 sent as 4 bytes' },
  { slug: 'set-vring-num', request: FrontendRequest.SET_VRING_NUM, full: 8, body: new Uint8Array([0, 0, 0, 0]), why: 'a vring state sent as 4 bytes' },
  { slug: 'set-vring-base', request: FrontendRequest.SET_VRING_BASE, full: 8, body: new Uint8Array([0, 0, 0, 0]), why: 'a vring state sent as 4 bytes' },
  { slug: 'set-vring-addr', request: FrontendRequest.SET_VRING_ADDR, full: 40, body: new Uint8Array(8), why: 'a 40-byte vring address sent as 8 bytes' },
];

/**
 * Payload definitions: each request has a fixed-size body ("A vring state description", "A
 * vring address description", "A u64"). A shorter body is malformed; it must be refused, not
 * read past its end. (ROBUST.)
 */
const truncatedCases: ConformanceCase[] = TRUNCATED.map((t) => ({
  id: `framing/size/truncated-payload/${t.slug}`,
  title: `${requestName(t.request)} with a truncated payload (${t.body.length} of ${t.full} bytes) is refused`,
  area: 'framing',
  requirements: ['VU-MSG-006'],
  level: 'ROBUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Message types', quote: `${requestName(t.request)} carries a ${t.full}-byte body` },
  description: `With REPLY_ACK in force, sends ${requestName(t.request)} with NEED_REPLY and ${t.why}; expects a non-zero ack or a close.`,
  needs: { protocolFeatures: [REPLY_ACK] },
  async run(ctx: CaseContext): Promise<Verdict> {
    const s = await ctx.openSession();
    if (t.request === FrontendRequest.SET_FEATURES) {
      // Negotiate everything but SET_FEATURES itself: that is the message under test.
      const f = await s.getFeatures();
      if (f & (1n << 30n)) await s.setProtocolFeatures(ctx.peer.protocolFeatures & (1n << BigInt(REPLY_ACK)));
      await s.setOwner();
    } else {
      await negotiateDefault(s, ctx.peer);
    }
    const o = await requestAndObserve(ctx, s, t.request, t.body, { needReply: true });
    return verdictOf([verifyRejected(o, t.request, t.why)]);
  },
}));

/** Request ids no version of the spec defines (ID 0 is `NONE`; the newest front-end ID is 45). */
const UNKNOWN_IDS = [0, 46, 255, 0xffffffff];

/**
 * "Communication": on an unknown or invalid message the back-end may close the connection; with
 * REPLY_ACK a NEED_REPLY request is answered 0 (success) or non-zero (failure) — an unknown
 * request cannot have succeeded.
 */
const unknownRequests: ConformanceCase = {
  id: 'framing/unknown-request/rejected',
  title: 'Unknown request ids (0, 46, 255, 0xFFFFFFFF) get a non-zero ack or a close, never a crash',
  area: 'framing',
  requirements: ['VU-MSG-007'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'the back-end may close the connection on an unexpected message; with REPLY_ACK, failure is a non-zero ack' },
  description: 'Sends each unknown id with NEED_REPLY under REPLY_ACK, reconnecting after a close; a crash is caught by the runner.',
  needs: { protocolFeatures: [REPLY_ACK] },
  async run(ctx) {
    let s = await ackSession(ctx);
    for (const id of UNKNOWN_IDS) {
      if (s.connection.isBroken) s = await ackSession(ctx);
      const o = await requestAndObserve(ctx, s, id, undefined, { needReply: true });
      const c = verifyRejected(o, id, 'unknown request');
      if (!c.ok) return failAt(`request id ${id}`, c);
    }
    return { status: 'pass' };
  },
};

/**
 * "Header": "Version: the vhost-user version; currently 0x1". A message with another version is
 * not a valid vhost-user message and must not be answered as one.
 */
const badVersion: ConformanceCase = {
  id: 'framing/header/bad-version-not-accepted',
  title: 'GET_FEATURES with version 0, 2 or 3 is not answered as valid',
  area: 'framing',
  requirements: ['VU-MSG-008'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Header', quote: 'flags bits 0–1: version, currently 0x1' },
  description: 'Sends GET_FEATURES with flags 0x0, 0x2, 0x3 (one session each); expects a close or silence, never a features reply.',
  async run(ctx) {
    for (const flags of [0x0, 0x2, 0x3]) {
      const s = await ctx.openSession();
      const o = await requestAndObserve(ctx, s, FrontendRequest.GET_FEATURES, undefined, { flags, waitMs: Math.max(ctx.quietMs, 500) });
      const answered = o.kind === 'reply' && o.request === FrontendRequest.GET_FEATURES && o.size === 8;
      const c = check(!answered, [`no GET_FEATURES reply to version ${flags & 3}: a close, an error or silence`], describeObservation(o));
      if (!c.ok) return failAt(`GET_FEATURES with flags 0x${flags.toString(16)}`, c);
      s.close();
    }
    return { status: 'pass' };
  },
};

/** Stray-fd probes: a request that defines no fd, sent with a pipe write end attached. */
const STRAY: { slug: string; request: number; body: (peer: PeerInfo) => Uint8Array; level: 'MUST' | 'ROBUST'; needs?: number[]; quote: string }[] = [
  { slug: 'get-features', request: FrontendRequest.GET_FEATURES, body: () => new Uint8Array(0), level: 'ROBUST', quote: 'GET_FEATURES carries no fd' },
  { slug: 'set-vring-num', request: FrontendRequest.SET_VRING_NUM, body: () => vringState.encode({ index: 0, num: 256 }), level: 'ROBUST', quote: 'SET_VRING_NUM carries no fd' },
  {
    slug: 'rem-mem-reg', request: FrontendRequest.REM_MEM_REG, level: 'MUST', needs: [ProtocolFeature.CONFIGURE_MEM_SLOTS],
    body: () => memRegion.encode({ region: { guestPhysAddr: 0x7000_0000n, memorySize: 0x20_0000n, userspaceAddr: 0x7f00_0000_0000n, mmapOffset: 0n } }),
    quote: 'REM_MEM_REG: the back-end must close any fd sent with it and not use it',
  },
];

/**
 * "REM_MEM_REG": "an fd sent with it ... must be closed"; for other requests that define no fd,
 * keeping or using a stray fd is the class of CVE-2019-14818 / CVE-2022-0669 (ROBUST).
 */
const strayFdCases: ConformanceCase[] = STRAY.map((t) => ({
  id: `framing/fds/stray-fd-closed/${t.slug}`,
  title: `An fd attached to ${requestName(t.request)} is closed by the back-end`,
  area: 'framing',
  requirements: ['VU-MSG-010'],
  level: t.level,
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Communication', quote: t.quote },
  description: `Attaches the write end of a pipe to ${requestName(t.request)} (NEED_REPLY where REPLY_ACK is offered) and waits for the read end to hang up.`,
  needs: t.needs ? { protocolFeatures: t.needs } : {},
  async run(ctx: CaseContext): Promise<Verdict> {
    const s = await ackSession(ctx);
    const probes = FdProbes.create(1);
    try {
      sendMessage(s, { request: t.request, flags: s.replyAck ? 0x9 : 0x1, size: t.body(ctx.peer).length, body: t.body(ctx.peer), fds: probes.fds });
      probes.release();
      if (s.replyAck || t.request === FrontendRequest.GET_FEATURES) {
        const o = await observeNext(s, ctx.waitMs, { awaiting: t.request });
        ctx.note(`answer: ${describeObservation(o)}`);
      }
      return verdictOf([await probes.verifyClosed(ctx.waitMs, requestName(t.request))]);
    } finally {
      probes.close();
    }
  },
}));

/**
 * SET_VRING_KICK carries at most one fd (DPDK `validate_msg_fds`). Surplus fds must not leak:
 * at most one may be kept as the kick fd, and none once the connection is gone. (ROBUST.)
 */
const tooManyFds: ConformanceCase = {
  id: 'framing/fds/surplus-fds-not-leaked/set-vring-kick',
  title: 'SET_VRING_KICK with 8 fds attached leaks none of them',
  area: 'framing',
  requirements: ['VU-MSG-011'],
  level: 'ROBUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'SET_VRING_KICK', quote: 'ancillary data: one fd, or none with the invalid-fd flag' },
  description: 'Sends SET_VRING_KICK ring 0 with 8 pipe write ends; at least 7 must be closed at once, and all 8 once the session is closed.',
  async run(ctx) {
    const s = await ackSession(ctx);
    const probes = FdProbes.create(8);
    try {
      sendMessage(s, { request: FrontendRequest.SET_VRING_KICK, flags: s.replyAck ? 0x9 : 0x1, size: 8, body: vringFd.encode({ index: 0, noFd: false, upper: 0n }), fds: probes.fds });
      probes.release();
      if (s.replyAck) ctx.note(`answer: ${describeObservation(await observeNext(s, ctx.waitMs, { awaiting: FrontendRequest.SET_VRING_KICK }))}`);
      s.close();
      return verdictOf([await probes.verifyClosed(ctx.waitMs, 'SET_VRING_KICK (then the connection closed)')]);
    } finally {
      probes.close();
    }
  },
};

/**
 * "REPLY_ACK": a failure is reported as a non-zero ack — and the connection goes on; the spec
 * reserves closing for exceptional conditions ("Communication").
 */
const servesAfterError: ConformanceCase = {
  id: 'framing/error/keeps-serving-after-error',
  title: 'After a failed request the back-end still answers (or closes cleanly), it never hangs',
  area: 'framing',
  requirements: ['VU-MSG-012'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'REPLY_ACK', quote: 'the back-end replies with a non-zero status on failure' },
  description: 'Sends an unknown request (99) with NEED_REPLY, then GET_FEATURES; expects its reply or a clean close.',
  needs: { protocolFeatures: [REPLY_ACK] },
  async run(ctx) {
    const s = await ackSession(ctx);
    const o = await requestAndObserve(ctx, s, 99, undefined, { needReply: true });
    ctx.note(`request 99: ${describeObservation(o)}`);
    if (o.kind === 'timeout') return { status: 'fail', expected: ['a non-zero ack or a close for request 99'], actual: describeObservation(o) };
    return verdictOf([await verifyStillServing(s, ctx.waitMs)]);
  },
};

/** Every framing case, in run order. */
export const framingCases: readonly ConformanceCase[] = [
  replyHeader, oneReply, inPieces, oversize, ...truncatedCases, unknownRequests, badVersion, ...strayFdCases, tooManyFds, servesAfterError,
];

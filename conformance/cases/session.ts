/**
 * Session start and ownership (vhost-user.rst "Communication", `SET_OWNER`, `RESET_OWNER`;
 * CHECKLIST §2.3 and §5.2 VU-SESS).
 * @module
 */
import { FrontendRequest, ProtocolFeature, u64, vringState } from '../../fakes/wire/index.js';
import { closeFd, eventfdWrite, socketPair } from '../../native/index.js';
import type { ConformanceCase } from '../model.js';
import {
  check, describeObservation, failAt, observeNext, verdictOf, verifyAckZero, verifyReply, verifyStillServing, type Check,
} from '../verify/index.js';
import { OneRing, negotiateDefault, requestAndObserve, sleep } from './support/session-setup.js';

const has = (mask: bigint, bit: number): boolean => ((mask >> BigInt(bit)) & 1n) === 1n;

/**
 * CHECKLIST §2.3 (QEMU's order): GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 * GET_QUEUE_NUM, GET_MAX_MEM_SLOTS and SET_BACKEND_REQ_FD all come before SET_OWNER.
 */
const preOwner: ConformanceCase = {
  id: 'session/start/queries-before-set-owner',
  title: 'The queries of QEMU\'s start sequence are answered before SET_OWNER',
  area: 'session',
  requirements: ['VU-SESS-001'],
  level: 'INTEROP',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'QEMU negotiates features, protocol features, queue number, memory slots and the back-end channel before SET_OWNER' },
  description: 'Runs QEMU\'s pre-owner sequence and checks every reply (and the SET_BACKEND_REQ_FD ack, where REPLY_ACK and BACKEND_REQ are offered).',
  async run(ctx) {
    const s = await ctx.openSession();
    const checks: Check[] = [];
    const step = async (request: number, body?: Uint8Array): Promise<Check> => {
      const c = verifyReply(await requestAndObserve(ctx, s, request, body), request, 8);
      checks.push(c);
      return c;
    };
    let c = await step(FrontendRequest.GET_FEATURES);
    if (!c.ok) return failAt('GET_FEATURES', c);
    if (!has(ctx.peer.features, 30)) return verdictOf(checks, 'no PROTOCOL_FEATURES: only GET_FEATURES applies');
    c = await step(FrontendRequest.GET_PROTOCOL_FEATURES);
    if (!c.ok) return failAt('GET_PROTOCOL_FEATURES', c);
    const pf = ctx.peer.protocolFeatures & ((1n << BigInt(ProtocolFeature.REPLY_ACK)) | (1n << BigInt(ProtocolFeature.MQ))
      | (1n << BigInt(ProtocolFeature.CONFIGURE_MEM_SLOTS)) | (1n << BigInt(ProtocolFeature.BACKEND_REQ)));
    await s.setProtocolFeatures(pf);
    if (has(pf, ProtocolFeature.MQ) && !(c = await step(FrontendRequest.GET_QUEUE_NUM)).ok) return failAt('GET_QUEUE_NUM', c);
    if (has(pf, ProtocolFeature.CONFIGURE_MEM_SLOTS) && !(c = await step(FrontendRequest.GET_MAX_MEM_SLOTS)).ok) return failAt('GET_MAX_MEM_SLOTS', c);
    if (has(pf, ProtocolFeature.BACKEND_REQ) && s.replyAck) {
      const [mine, theirs] = socketPair();
      try {
        const o = await requestAndObserve(ctx, s, FrontendRequest.SET_BACKEND_REQ_FD, undefined, { needReply: true, fds: [theirs] });
        closeFd(theirs);
        const a = verifyAckZero(o, FrontendRequest.SET_BACKEND_REQ_FD);
        if (!a.ok) return failAt('SET_BACKEND_REQ_FD', a);
        checks.push(a);
      } finally {
        closeFd(mine);
      }
    }
    return verdictOf(checks);
  },
};

/** `SET_OWNER`: "issued when a new connection is established; it marks the start of a session". */
const ownerTwice: ConformanceCase = {
  id: 'session/owner/set-owner-twice',
  title: 'A repeated SET_OWNER is acked 0 or refused, and the session still works',
  area: 'session',
  requirements: ['VU-SESS-002'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'SET_OWNER', quote: 'issued when a new connection is established; marks the start of a session' },
  description: 'After negotiation (which sends SET_OWNER) sends SET_OWNER twice with NEED_REPLY, then checks SET_VRING_NUM is still acked 0.',
  needs: { protocolFeatures: [ProtocolFeature.REPLY_ACK] },
  async run(ctx) {
    const s = await ctx.openSession();
    await negotiateDefault(s, ctx.peer);
    for (const n of [1, 2]) {
      const o = await requestAndObserve(ctx, s, FrontendRequest.SET_OWNER, undefined, { needReply: true });
      const c = verifyReply(o, FrontendRequest.SET_OWNER, 8);
      if (!c.ok) return failAt(`SET_OWNER #${n + 1}`, c);
      ctx.note(`SET_OWNER #${n + 1}: ack ${u64.decode(o.kind === 'reply' ? o.body : new Uint8Array(8))}`);
    }
    const o = await requestAndObserve(ctx, s, FrontendRequest.SET_VRING_NUM, vringState.encode({ index: 0, num: 256 }), { needReply: true });
    return verdictOf([verifyAckZero(o, FrontendRequest.SET_VRING_NUM)]);
  },
};

/**
 * "Communication" (reconnection): a new connection is a new session; only inflight data handed
 * back through SET_INFLIGHT_FD survives. Old rings, memory and fds must be forgotten.
 */
const freshAfterReconnect: ConformanceCase = {
  id: 'session/reconnect/no-state-from-previous-connection',
  title: 'A new connection starts with no ring state or memory from the previous one',
  area: 'session',
  requirements: ['VU-SESS-003'],
  level: 'MUST',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'after the connection closes the back-end must forget the session; only inflight state handed back via SET_INFLIGHT_FD survives' },
  description: 'Session 1 starts ring 0 at base 7 over a memfd; session 2 asks GET_VRING_BASE ring 0 (must not be 7), and kicking the old ring must not touch the old memory.',
  async run(ctx) {
    const ring = OneRing.create(64);
    try {
      const s1 = await ctx.openSession();
      await negotiateDefault(s1, ctx.peer);
      await ring.start(s1, 0, 7);
      const usedBefore = ring.usedIdx();
      s1.close();
      await sleep(ctx.quietMs, ctx.signal);
      const s2 = await ctx.openSession();
      await negotiateDefault(s2, ctx.peer);
      // Publish a buffer in the old ring and kick the old kick fd: a back-end that kept the old
      // session would consume it.
      const buf = ring.driver.addSingle(0x1_0030_0000, 64, false);
      ring.driver.publish();
      eventfdWrite(ring.kickFd);
      ctx.note(`published head ${buf} in the old ring and kicked the old kick fd`);
      const o = await requestAndObserve(ctx, s2, FrontendRequest.GET_VRING_BASE, vringState.encode({ index: 0, num: 0 }));
      ctx.note(`GET_VRING_BASE ring 0 on the new connection: ${describeObservation(o)}`);
      let base: number | undefined;
      if (o.kind === 'reply' && o.request === FrontendRequest.GET_VRING_BASE && o.size === 8) base = vringState.decode(o.body).num;
      await sleep(ctx.quietMs, ctx.signal);
      const usedAfter = ring.usedIdx();
      return verdictOf([
        check(base !== 7, ['GET_VRING_BASE on a fresh connection does not return the old base 7 (0, an error or a close)'], base === undefined ? describeObservation(o) : `base ${base}`),
        check(usedAfter === usedBefore, ['the old ring is not used after the connection closed'], `used idx ${usedBefore} → ${usedAfter}`),
      ]);
    } finally {
      ring.close();
    }
  },
};

/**
 * `RESET_OWNER` (deprecated): "no longer used"; a back-end may ignore it or disable every ring —
 * it must not break the connection's ability to be set up again.
 */
const resetOwner: ConformanceCase = {
  id: 'session/owner/reset-owner-then-setup-again',
  title: 'After RESET_OWNER the same connection can be set up again',
  area: 'session',
  requirements: ['VU-SESS-004', 'VU-RST-003'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'RESET_OWNER', quote: 'deprecated; a back-end may ignore it or disable all rings' },
  description: 'Starts ring 0, sends RESET_OWNER, then GET_FEATURES, negotiation and the ring setup again; every step must succeed.',
  async run(ctx) {
    const ring = OneRing.create(64);
    // Another GPA range: whether RESET_OWNER dropped the old table is implementation-defined, and
    // re-adding an overlapping region would be refused (VU-MEM-014), not a RESET_OWNER problem.
    const ring2 = OneRing.create(64, 0x2_0000_0000);
    try {
      const s = await ctx.openSession();
      await negotiateDefault(s, ctx.peer);
      await ring.start(s, 0);
      const o = await requestAndObserve(ctx, s, FrontendRequest.RESET_OWNER, undefined, { needReply: s.replyAck, waitMs: s.replyAck ? ctx.waitMs : ctx.quietMs });
      ctx.note(`RESET_OWNER: ${describeObservation(o)}`);
      if (o.kind === 'closed') return { status: 'fail', expected: ['the connection stays usable after RESET_OWNER'], actual: describeObservation(o) };
      const f = verifyReply(await requestAndObserve(ctx, s, FrontendRequest.GET_FEATURES), FrontendRequest.GET_FEATURES, 8);
      if (!f.ok) return failAt('GET_FEATURES after RESET_OWNER', f);
      await negotiateDefault(s, ctx.peer);
      await ring2.start(s, 0);
      return verdictOf([await verifyStillServing(s, ctx.waitMs)].map((c) => (c.actual.includes('closed') ? { ...c, ok: false } : c)));
    } finally {
      ring.close();
      ring2.close();
    }
  },
};

/** "Communication": the back-end closes the connection only on exceptional conditions. */
const noCloseOnValid: ConformanceCase = {
  id: 'session/start/valid-sequence-keeps-connection',
  title: 'QEMU\'s full start sequence does not make the back-end close the connection',
  area: 'session',
  requirements: ['VU-SESS-005'],
  level: 'SHOULD',
  role: 'backend',
  spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'the connection is closed only for exceptional conditions' },
  description: 'Negotiates, sends the memory table and starts ring 0 as QEMU does; after a quiet window GET_FEATURES still gets its reply.',
  async run(ctx) {
    const ring = OneRing.create(256);
    try {
      const s = await ctx.openSession();
      await negotiateDefault(s, ctx.peer);
      await ring.start(s, 0);
      const extra = await observeNext(s, ctx.quietMs);
      if (extra.kind !== 'timeout') return { status: 'fail', expected: ['no message and no close after a valid start sequence'], actual: describeObservation(extra) };
      const o = await requestAndObserve(ctx, s, FrontendRequest.GET_FEATURES);
      return verdictOf([verifyReply(o, FrontendRequest.GET_FEATURES, 8)]);
    } finally {
      ring.close();
    }
  },
};

/** Every session case, in run order. */
export const sessionCases: readonly ConformanceCase[] = [preOwner, ownerTwice, freshAfterReconnect, resetOwner, noCloseOnValid];


/**
 * Dirty-page logging (vhost-user.rst "Migration" and `VHOST_USER_SET_LOG_BASE`; CHECKLIST §3.7,
 * VU-MIG-001/002/003/005/006): the reply to SET_LOG_BASE and its format (the reply-format
 * disagreement of rust-vmm B31) and a log whose offset + size wraps (CVE-2020-10722, DPDK
 * 3ae4beb0) or that its fd cannot back. Every case needs LOG_SHMFD: only then does the log come
 * as a shared fd.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { FrontendRequest, ProtocolFeature, REPLY_FLAGS, featureMask, log, requestName } from '../../fakes/wire/index.js';
import { closeFd, memfdCreate } from '../../native/index.js';
import type { CaseContext, ConformanceCase, Observation, Verdict } from '../model.js';
import { check, describeObservation, failAt, observeNext, replyU64, verifyReply, type Check } from '../verify/index.js';
import { stillServes } from '../verify/ring-outcome.js';
import { fail, pass, verdictOf as verdictOfResults } from '../verify/ring-verdict.js';
import { LogArea } from './support/log-area.js';
import { survives } from './support/survival.js';
import { defaultProtocolFeatures, negotiateDefault, requestAndObserve } from './support/session-setup.js';

const LOG_SHMFD = ProtocolFeature.LOG_SHMFD;
const SET_LOG_BASE = FrontendRequest.SET_LOG_BASE;
const NAME = requestName(SET_LOG_BASE);
const SPEC_MSG = { doc: 'vhost-user', anchor: 'VHOST_USER_SET_LOG_BASE' } as const;
/** Reply bodies D3 accepts: none (the spec's "reply payload: N/A", DPDK) or the echoed 16-byte log (rust-vmm). */
const REPLY_SIZES = [0, log.SIZE];

/** A session with REPLY_ACK (where offered), MQ, CONFIGURE_MEM_SLOTS and LOG_SHMFD agreed. */
async function logSession(ctx: CaseContext): Promise<FrontendSession> {
  const s = await ctx.openSession();
  await negotiateDefault(s, ctx.peer, defaultProtocolFeatures(ctx.peer) | featureMask(LOG_SHMFD));
  return s;
}

/** The reply to a SET_LOG_BASE the back-end accepted: flags 0x5, request 6, a body of 0 or 16 bytes (D3). */
export function verifyLogReply(o: Observation): Check {
  const r = verifyReply(o, SET_LOG_BASE);
  const expected = [`a reply to ${NAME} with flags 0x${REPLY_FLAGS.toString(16)} and a body of 0 bytes ("reply payload: N/A") or the echoed ${log.SIZE}-byte log (CHECKLIST D3)`];
  if (!r.ok) return check(false, expected, r.actual);
  return check(o.kind === 'reply' && REPLY_SIZES.includes(o.size), expected, describeObservation(o));
}

/** Sends SET_LOG_BASE for `area` (or a raw geometry over `fd`) and observes the answer. */
export function sendLogBase(ctx: CaseContext, s: FrontendSession, value: log.Log, fd: number, needReply = false): Promise<Observation> {
  return requestAndObserve(ctx, s, SET_LOG_BASE, log.encode(value), { needReply, fds: [fd] });
}

/**
 * "VHOST_USER_SET_LOG_BASE": with LOG_SHMFD the log fd comes in the ancillary data and the
 * front-end waits for a reply ("Communication": SET_LOG_BASE is among the requests answered when
 * LOG_SHMFD is negotiated); "For the message types that already solicit a reply … need_reply
 * brings no behavioural change", so NEED_REPLY must not add a second message.
 */
const alwaysReplies: ConformanceCase = {
  id: 'backend/migration/log-base-always-replies',
  title: 'SET_LOG_BASE with LOG_SHMFD gets exactly one reply, with a body of 0 or 16 bytes, with or without NEED_REPLY',
  area: 'migration', requirements: ['VU-MIG-001'], level: 'MUST', role: 'backend',
  needs: { protocolFeatures: [LOG_SHMFD] },
  spec: { ...SPEC_MSG, quote: 'reply payload: N/A; with LOG_SHMFD the log fd is in the ancillary data and the back-end replies; need_reply brings no behavioural change for a message that already has a reply' },
  description: 'Agrees LOG_SHMFD, sends SET_LOG_BASE {size 4096, offset 0} with a 4 KiB memfd as QEMU does (no NEED_REPLY), then again with NEED_REPLY: each must get one reply, flags 0x5, request 6, body 0 or 16 bytes (D3), nothing more; then GET_FEATURES is still answered.',
  async run(ctx) {
    const s = await logSession(ctx);
    const area = LogArea.create(4096, 0, 0);
    try {
      for (const needReply of [false, true]) {
        const step = `${NAME} {size 4096, offset 0}${needReply ? ' with NEED_REPLY' : ''}`;
        const o = await sendLogBase(ctx, s, { mmapSize: 4096n, mmapOffset: 0n }, area.fd, needReply);
        const c = verifyLogReply(o);
        if (!c.ok) return failAt(step, c);
        const extra = await observeNext(s, ctx.quietMs);
        if (extra.kind !== 'timeout') return failAt(step, check(false, ['exactly one reply'], `then: ${describeObservation(extra)}`));
      }
      const again = verdictOfResults(await stillServes(s, () => ctx.openSession()));
      return again.status === 'pass' ? pass('both replies well-formed') : again;
    } finally {
      area.close();
    }
  },
};

/** Geometries SET_LOG_BASE must not map (VU-MIG-002). */
const BAD_LOGS: { slug: string; why: string; fileSize: number; value: log.Log; mustRefuse: boolean; quote: string }[] = [
  {
    slug: 'offset-size-overflow', why: 'mmap_offset 2^64 - 4096 with mmap_size 8192 (offset + size wraps)', fileSize: 16384,
    value: { mmapSize: 8192n, mmapOffset: (1n << 64n) - 4096n }, mustRefuse: true,
    quote: 'the size and offset of the shared memory area are provided in the message; an area whose end wraps past 2^64 does not exist in any fd (CVE-2020-10722)',
  },
  {
    slug: 'size-beyond-fd', why: 'mmap_size 1 MiB over a 4 KiB memfd', fileSize: 4096,
    value: { mmapSize: 1n << 20n, mmapOffset: 0n }, mustRefuse: false,
    quote: 'the log memory fd is provided in the ancillary data; the size and offset of the shared memory area are provided in the message',
  },
];

/**
 * The back-end's answer to a log it cannot map. A close, or a u64 body with a non-zero value
 * (DPDK's failure ack; libvhost-user's size-8 reply echoes mmap_size there, equally non-zero) is
 * a refusal; the success forms of D3 (a body of 0 or 16 bytes) are an acceptance.
 */
function classify(o: Observation): 'refused' | 'accepted' | 'other' {
  if (o.kind === 'closed') return 'refused';
  if (o.kind !== 'reply' || o.request !== SET_LOG_BASE) return 'other';
  if (o.size === 8) return replyU64(o) === 0n ? 'accepted' : 'refused';
  return REPLY_SIZES.includes(o.size) ? 'accepted' : 'other';
}

/**
 * CVE-2020-10722 (DPDK 3ae4beb0): offset + size wrapped before mmap, so a tiny mapping was later
 * written as if it were huge. A wrapping geometry must be refused; a size the fd cannot back
 * may be refused or kept unused, but neither may bring the back-end down.
 */
const badLogCases: ConformanceCase[] = BAD_LOGS.map((b) => ({
  id: `backend/migration/log-base-bad-geometry/${b.slug}`,
  title: `SET_LOG_BASE with ${b.why} is ${b.mustRefuse ? 'refused' : 'survived'}, and the back-end keeps serving`,
  area: 'migration', requirements: ['VU-MIG-002'], level: 'MUST', role: 'backend',
  needs: { protocolFeatures: [LOG_SHMFD] },
  spec: { ...SPEC_MSG, quote: b.quote },
  description: `Agrees LOG_SHMFD (and REPLY_ACK where offered), sends SET_LOG_BASE with ${b.why} and NEED_REPLY; ${b.mustRefuse
    ? 'expects a close or a non-zero u64 reply (not the success reply of 0 or 16 bytes)'
    : 'accepts any answer but a hang'}; then the process must be alive and a fresh connection served.`,
  async run(ctx: CaseContext): Promise<Verdict> {
    const s = await logSession(ctx);
    const fd = memfdCreate('vhostlab-bad-log', b.fileSize);
    let o: Observation;
    try {
      o = await sendLogBase(ctx, s, b.value, fd, s.replyAck);
    } finally {
      closeFd(fd);
    }
    ctx.note(`answer: ${describeObservation(o)}`);
    const kind = classify(o);
    const first = b.mustRefuse
      ? check(kind === 'refused', [`${NAME} refused: the connection closed`, `${NAME} refused: a u64 reply with a non-zero status`], kind === 'accepted' ? `accepted: ${describeObservation(o)}` : describeObservation(o))
      : check(o.kind === 'reply' || o.kind === 'closed', [`any answer to ${NAME} (a reply, an error or a close), not a hang`], describeObservation(o));
    if (!first.ok) return failAt(`${NAME} with ${b.why}`, first);
    const served = await survives(ctx, s, o);
    return served ? fail(served.expected.map((e) => `after the bad log: ${e}`), served.actual) : pass(describeObservation(o));
  },
}));

/** Every dirty-log case, in run order. */
export const dirtyLogCases: readonly ConformanceCase[] = [alwaysReplies, ...badLogCases];

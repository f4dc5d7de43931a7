/**
 * Inflight messages from a careless or hostile front-end (vhost-user.rst "Inflight I/O tracking",
 * `VHOST_USER_GET_INFLIGHT_FD` / `VHOST_USER_SET_INFLIGHT_FD`; CHECKLIST VU-RECON-005/006):
 * - a geometry the back-end cannot hold (DPDK 6442c329, an out-of-bounds write through an
 *   unchecked `num_queues`, reported by Wenxiang Qian) is refused, or at least survived;
 * - fds attached where none are defined, or beyond the one SET_INFLIGHT_FD defines, are closed
 *   (CVE-2022-0669, DPDK af74f7db), and repeated GET_INFLIGHT_FD leaks nothing (CVE-2020-10726).
 * All need INFLIGHT_SHMFD.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import {
  FrontendRequest, INFLIGHT_REGION_ALIGN, ProtocolFeature, featureMask, inflight, inflightRegionMinSize, requestName,
} from '../../fakes/wire/index.js';
import { closeFd, memfdCreate } from '../../native/index.js';
import type { CaseContext, ConformanceCase, Observation, Verdict } from '../model.js';
import { FdProbes, check, describeObservation, failAt, observeNext, verdictOf, verifyRejected, verifyReply, type Check } from '../verify/index.js';
import { sleep } from '../verify/ring-wait.js';
import { survives } from './support/survival.js';
import { defaultProtocolFeatures, negotiateDefault, requestAndObserve } from './support/session-setup.js';

const INFLIGHT = ProtocolFeature.INFLIGHT_SHMFD;
const GET = FrontendRequest.GET_INFLIGHT_FD;
const SET = FrontendRequest.SET_INFLIGHT_FD;
const QUEUE_SIZE = 64;
const SPEC = { doc: 'vhost-user', anchor: 'Inflight I/O tracking' } as const;

/** Bytes per split region of `queueSize` entries, rounded up to the region alignment. */
const stride = (queueSize: number): number => Math.ceil(inflightRegionMinSize(queueSize, false) / INFLIGHT_REGION_ALIGN) * INFLIGHT_REGION_ALIGN;

/** A session with INFLIGHT_SHMFD (and REPLY_ACK, MQ, CONFIGURE_MEM_SLOTS where offered) agreed. */
async function inflightSession(ctx: CaseContext): Promise<FrontendSession> {
  const s = await ctx.openSession();
  await negotiateDefault(s, ctx.peer, defaultProtocolFeatures(ctx.peer) | featureMask(INFLIGHT));
  return s;
}

/** The back-end's survival as a check (see {@link survives}). */
async function survival(ctx: CaseContext, s: FrontendSession, o: Observation, what: string): Promise<Check> {
  const r = await survives(ctx, s, o);
  return r ? check(false, r.expected.map((e) => `after ${what}: ${e}`), r.actual) : check(true, [], 'serving');
}

/** Geometries SET_INFLIGHT_FD must not be trusted with. */
const BAD_GEOMETRIES: { slug: string; why: string; numQueues: number; fileSize: number; mmapSize: number; mustRefuse: boolean; quote: string }[] = [
  {
    slug: 'num-queues-beyond-support', why: 'num_queues 16384 (an area large enough for them)', numQueues: 16384,
    fileSize: 16384 * stride(QUEUE_SIZE), mmapSize: 16384 * stride(QUEUE_SIZE), mustRefuse: false,
    quote: 'num_queues is the number of virtqueues the area covers; a back-end has as many as it offered, and must not index its queues with a larger count (DPDK 6442c329)',
  },
  {
    slug: 'area-too-small', why: `mmap_size 256 for 2 queues of ${QUEUE_SIZE} entries (${2 * inflightRegionMinSize(QUEUE_SIZE, false)} bytes needed)`, numQueues: 2,
    fileSize: 4096, mmapSize: 256, mustRefuse: true,
    quote: 'the area holds one region per queue, each a header and queue_size descriptor entries; an area smaller than that cannot be tracked in',
  },
];

/**
 * "Inflight I/O tracking": the back-end maps `mmap_size` bytes and finds a region per queue in
 * them. An area too small for the declared geometry must be refused (non-zero ack or close);
 * a `num_queues` beyond the back-end's queues may be refused or ignored, never trusted: either
 * way the process survives and serves a fresh connection.
 */
const badGeometryCases: ConformanceCase[] = BAD_GEOMETRIES.map((g) => ({
  id: `backend/reconnect/inflight-bad-geometry/${g.slug}`,
  title: `SET_INFLIGHT_FD with ${g.why} is ${g.mustRefuse ? 'refused' : 'refused or survived'}, and the back-end keeps serving`,
  area: 'reconnect', requirements: ['VU-RECON-005'], level: 'MUST', role: 'backend',
  needs: { protocolFeatures: [INFLIGHT] },
  spec: { ...SPEC, quote: g.quote },
  description: `Agrees INFLIGHT_SHMFD, sends SET_INFLIGHT_FD with ${g.why} over a ${g.fileSize}-byte memfd, with NEED_REPLY under REPLY_ACK; ${g.mustRefuse
    ? 'expects a non-zero ack or a close'
    : 'accepts a refusal or an ack'}; then the process must be alive and a fresh connection served.`,
  async run(ctx: CaseContext): Promise<Verdict> {
    const s = await inflightSession(ctx);
    const fd = memfdCreate('vhostlab-bad-inflight', g.fileSize);
    let o: Observation;
    try {
      const body = inflight.encode({ mmapSize: BigInt(g.mmapSize), mmapOffset: 0n, numQueues: g.numQueues, queueSize: QUEUE_SIZE });
      o = await requestAndObserve(ctx, s, SET, body, { needReply: s.replyAck, fds: [fd], waitMs: s.replyAck ? ctx.waitMs : ctx.quietMs });
    } finally {
      closeFd(fd);
    }
    ctx.note(`answer: ${describeObservation(o)}`);
    const first = g.mustRefuse
      ? (s.replyAck ? verifyRejected(o, SET, g.why) : check(o.kind !== 'reply' || o.request !== SET, ['no success reply to SET_INFLIGHT_FD'], describeObservation(o)))
      : check(o.kind !== 'timeout' || !s.replyAck, [`an answer to ${requestName(SET)} (an ack or a close), not a hang`], describeObservation(o));
    if (!first.ok) return failAt(`${requestName(SET)} with ${g.why}`, first);
    return verdictOf([await survival(ctx, s, o, `SET_INFLIGHT_FD with ${g.why}`)]);
  },
}));

/** How many times the GET_INFLIGHT_FD leak probe repeats the request (CVE-2020-10726). */
const REPEATS = 16;

/**
 * "GET_INFLIGHT_FD": the request carries no fd; fds attached to it are the CVE-2022-0669 class
 * and must be closed. CVE-2020-10726: every GET_INFLIGHT_FD allocated a new area and leaked the
 * previous one, so repeating it must not grow the back-end's open fds.
 */
const getInflightFds: ConformanceCase = {
  id: 'backend/reconnect/inflight-fds-closed/get-inflight-fd',
  title: `fds attached to GET_INFLIGHT_FD are closed, and ${REPEATS} GET_INFLIGHT_FD in a row leak no fds`,
  area: 'reconnect', requirements: ['VU-RECON-006'], level: 'MUST', role: 'backend',
  needs: { protocolFeatures: [INFLIGHT] },
  spec: { ...SPEC, anchor: 'VHOST_USER_GET_INFLIGHT_FD', quote: 'the request carries the inflight description only; the reply carries the area\'s fd' },
  description: `Sends GET_INFLIGHT_FD (2 queues of ${QUEUE_SIZE}) with 2 pipe write ends attached: the reply must be the inflight description with one fd, and both pipes must hang up. Then, where the back-end's fds can be counted, repeats the request ${REPEATS} times (closing every area fd it returns) and expects the count back within 2 of where it was.`,
  timeoutMs: 30_000,
  async run(ctx) {
    const s = await inflightSession(ctx);
    const body = inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues: 2, queueSize: QUEUE_SIZE });
    const probes = FdProbes.create(2);
    try {
      const o = await requestAndObserve(ctx, s, GET, body, { fds: probes.fds });
      probes.release();
      ctx.note(`answer: ${describeObservation(o)}`);
      const checks: Check[] = [await probes.verifyClosed(ctx.waitMs, requestName(GET))];
      if (s.connection.isBroken) return verdictOf([...checks, await survival(ctx, s, o, 'GET_INFLIGHT_FD with stray fds')]);
      // A reply (the fds were ignored) must still be the defined one; a refusal by close is fine.
      if (o.kind === 'reply') checks.push(verifyReply(o, GET, inflight.SIZE));
      const before = ctx.peerFdCount();
      if (before === undefined) return verdictOf(checks, 'fd count not readable: repeat check skipped');
      for (let i = 0; i < REPEATS; i++) {
        // observeNext closes the area fd of each reply: only the back-end's copies remain.
        const r = await requestAndObserve(ctx, s, GET, body);
        const c = verifyReply(r, GET, inflight.SIZE);
        if (!c.ok) return failAt(`GET_INFLIGHT_FD ${i + 2}`, c);
      }
      await sleep(ctx.quietMs, ctx.signal);
      const after = ctx.peerFdCount();
      if (after !== undefined) {
        checks.push(check(after <= before + 2, [`at most ${before + 2} open fds after ${REPEATS} more GET_INFLIGHT_FD (before: ${before})`], `${after} open fds`));
      }
      return verdictOf(checks, `fds ${before} → ${after}`);
    } finally {
      probes.close();
    }
  },
};

/**
 * "SET_INFLIGHT_FD": one fd, the area. Surplus fds (CVE-2022-0669: inflight messages kept every
 * fd they came with) must be closed; the first is the area and may be kept.
 */
const setInflightSurplus: ConformanceCase = {
  id: 'backend/reconnect/inflight-fds-closed/set-inflight-fd-surplus',
  title: 'SET_INFLIGHT_FD with 3 fds beyond the area\'s closes the 3 surplus ones',
  area: 'reconnect', requirements: ['VU-RECON-006'], level: 'MUST', role: 'backend',
  needs: { protocolFeatures: [INFLIGHT] },
  spec: { ...SPEC, anchor: 'VHOST_USER_SET_INFLIGHT_FD', quote: 'ancillary data: the fd of the inflight area (one fd)' },
  description: `Gets an area with GET_INFLIGHT_FD (2 queues of ${QUEUE_SIZE}), hands it back with SET_INFLIGHT_FD carrying the area fd first and 3 pipe write ends after it (NEED_REPLY under REPLY_ACK); whatever the answer, the 3 pipes must hang up.`,
  async run(ctx) {
    const s = await inflightSession(ctx);
    const reply = await s.call(GET, inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues: 2, queueSize: QUEUE_SIZE }), inflight.SIZE);
    const [areaFd, ...extra] = reply.fds;
    for (const fd of extra) closeFd(fd);
    if (areaFd === undefined) return { status: 'fail', expected: ['the GET_INFLIGHT_FD reply carries the area fd'], actual: 'no fd attached (precondition)' };
    const probes = FdProbes.create(3);
    try {
      const o = await requestAndObserve(ctx, s, SET, reply.body, { needReply: s.replyAck, fds: [areaFd, ...probes.fds], waitMs: s.replyAck ? ctx.waitMs : ctx.quietMs });
      probes.release();
      ctx.note(`answer: ${describeObservation(o)}`);
      const closed = await probes.verifyClosed(ctx.waitMs, `${requestName(SET)} after the area fd`);
      const extraMsg = o.kind === 'reply' ? await observeNext(s, ctx.quietMs) : undefined;
      return verdictOf([
        closed,
        check(extraMsg === undefined || extraMsg.kind !== 'reply', ['one answer to SET_INFLIGHT_FD'], extraMsg ? describeObservation(extraMsg) : ''),
        await survival(ctx, s, o, 'SET_INFLIGHT_FD with surplus fds'),
      ]);
    } finally {
      probes.close();
      closeFd(areaFd);
    }
  },
};

/** Every inflight robustness case, in run order. */
export const inflightRobustnessCases: readonly ConformanceCase[] = [...badGeometryCases, getInflightFds, setInflightSurplus];

/**
 * Dirty logging under traffic (vhost-user.rst "Migration"; CHECKLIST §3.7, VU-MIG-003..006,
 * VU-FEAT-005, VU-RING-015): the front-end switches logging on while the rings run, in QEMU's
 * order at migration start (`vhost_migration_log`: SET_LOG_BASE, then SET_FEATURES with
 * VHOST_F_LOG_ALL, then SET_VRING_ADDR with VHOST_VRING_F_LOG on every ring), and checks the
 * bitmap against the guest pages the back-end really wrote. Then it switches logging off again
 * and the rings must keep forwarding.
 *
 * The log is pre-filled with a pseudo-random pattern (except the pages the case expects to see
 * marked) so a back-end that assigns bytes instead of ORing bits shows (MIG-005), and a canary
 * follows the log (MIG-006). Each ring's used-ring log goes to a GPA below guest RAM, where
 * nothing else lives, so only a back-end that honours `log_guest_addr` sets those bits (MIG-004).
 * @module
 */
import { FrontendRequest, ProtocolFeature, VHOST_LOG_PAGE, VRING_F_LOG, VirtioFeature, featureMask, payloads } from '../../fakes/wire/index.js';
import type { CaseContext, CaseNeeds, ConformanceCase, Verdict } from '../model.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { expectAccepted, sendForAck } from '../verify/ring-outcome.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { waitUntil } from '../verify/ring-wait.js';
import { sendLogBase, verifyLogReply } from './dirty-log.js';
import { LogArea } from './support/log-area.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const LOG_ALL = featureMask(VirtioFeature.LOG_ALL);
const SPEC = { doc: 'vhost-user', anchor: 'Migration' } as const;
const NEEDS: CaseNeeds = {
  loopingNet: true,
  features: [VirtioFeature.LOG_ALL],
  protocolFeatures: [ProtocolFeature.LOG_SHMFD, ProtocolFeature.REPLY_ACK],
};
/** Frames sent while logging is on. */
const LOGGED_FRAMES = 32;
/** How long the log may lag the used index (DPDK syncs its log cache per burst). */
const LOG_SETTLE_MS = 1000;

/** Where ring `ring` logs its used-ring writes: below guest RAM (4 GiB), inside the log. */
const usedLogGpa = (ring: number): number => 0x8000_0000 + ring * 2 * VHOST_LOG_PAGE;

/** A deterministic byte pattern (xorshift32), so a failure reproduces bit for bit. */
function fillPattern(bytes: Uint8Array, seed = 0x9e3779b9): void {
  let x = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    bytes[i] = x & 0xff;
  }
}

/** What one logged-traffic run found. */
interface LoggedRun {
  /** Pages of RX buffers holding data the back-end wrote while logging was on. */
  writtenPages: number[];
  /** Of those, pages whose bit is clear (MIG-003). */
  unloggedPages: number[];
  /** Rings whose used-ring log page (at log_guest_addr) has no bit (MIG-004). */
  unloggedUsed: number[];
  /** First pre-set bit that is clear now (MIG-005). */
  clearedBit: string | undefined;
  /** Canary damage outside the log (MIG-006). */
  canary: string | undefined;
  /** Traffic after logging was switched off again (FEAT-005). */
  afterOff: CheckResult;
}

/** SET_FEATURES (or SET_VRING_ADDR) with NEED_REPLY; a mismatch unless acked with 0. */
async function acked(rig: RingRig, what: string, request: number, body: Uint8Array): Promise<CheckResult> {
  return expectAccepted(what, request, await sendForAck(rig.session, request, body));
}

/** Switches logging on (features) and sets each ring's log flag, in QEMU's order. */
async function switchLogging(rig: RingRig, on: boolean): Promise<CheckResult> {
  const features = on ? rig.session.features | LOG_ALL : rig.session.features & ~LOG_ALL;
  const f = await acked(rig, `${on ? 'adding' : 'dropping'} VHOST_F_LOG_ALL while the rings run`, FrontendRequest.SET_FEATURES, payloads.u64.encode(features));
  if (f) return f;
  rig.session.features = features;
  for (const ring of [RX, TX]) {
    const addr = on ? rig.ringAddr(ring, VRING_F_LOG, usedLogGpa(ring)) : rig.ringAddr(ring);
    const a = await acked(rig, `${on ? 'with' : 'without'} VHOST_VRING_F_LOG on running ring ${ring}`, FrontendRequest.SET_VRING_ADDR, payloads.vringAddr.encode(addr));
    if (a) return a;
  }
  return undefined;
}

/** Pages of `[gpa, gpa + len)` holding a non-zero byte. */
function nonZeroPages(rig: RingRig, gpa: number, len: number): number[] {
  const bytes = rig.memory.slice(gpa, len);
  const pages = new Set<number>();
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) {
      pages.add(Math.floor((gpa + i) / VHOST_LOG_PAGE));
      // Skip to the next page: one byte is enough.
      i = (Math.floor((gpa + i) / VHOST_LOG_PAGE) + 1) * VHOST_LOG_PAGE - gpa - 1;
    }
  }
  return [...pages];
}

/** The first bit set in `preset` that is clear in `now`, described, or undefined. */
function firstCleared(preset: Uint8Array, now: Uint8Array): string | undefined {
  for (let i = 0; i < preset.length; i++) {
    const lost = preset[i]! & ~now[i]!;
    if (lost !== 0) return `byte ${i} was 0x${preset[i]!.toString(16)} before the traffic and is 0x${now[i]!.toString(16)} (page ${i * 8 + Math.log2(lost & -lost)}'s bit cleared)`;
  }
  return undefined;
}

/**
 * Runs traffic with logging switched on under running rings, then off again. Returns a verdict
 * when a precondition or a control message failed, else what the log shows.
 */
async function loggedTraffic(ctx: CaseContext, rig: RingRig): Promise<Verdict | LoggedRun> {
  await rig.startAll();
  const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
  if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
  const ramEnd = Math.max(...rig.memory.regions.map((r) => r.guestPhysAddr + r.size));
  const area = LogArea.create(LogArea.sizeFor(ramEnd));
  try {
    const rxBase = rig.q(RX).bufBase;
    const rxLen = rig.queueSize * rig.bufferSize;
    fillPattern(area.bits());
    area.clearRange(rxBase, rxLen);
    for (const ring of [RX, TX]) area.clearRange(usedLogGpa(ring), VHOST_LOG_PAGE);
    const preset = area.bits().slice();
    // Every RX byte the back-end writes from here on is non-zero somewhere in its page (a frame).
    rig.memory.slice(rxBase, rxLen).fill(0);

    const reply = verifyLogReply(await sendLogBase(ctx, rig.session, { mmapSize: BigInt(area.size), mmapOffset: 0n }, area.fd));
    if (!reply.ok) return fail(reply.expected, reply.actual);
    const on = await switchLogging(rig, true);
    if (on) return fail(on.expected, on.actual);
    const loop = await loopCheck(rig, 0, { count: LOGGED_FRAMES, size: 256, firstSeq: 100, warm: true, timeoutMs: ctx.waitMs, signal: ctx.signal });
    if (loop) return fail(loop.expected.map((e) => `with logging on: ${e}`), loop.actual);

    const writtenPages = nonZeroPages(rig, rxBase, rxLen);
    const isSet = (page: number): boolean => area.pageBit(page * VHOST_LOG_PAGE);
    const usedRings = [RX, TX];
    await waitUntil(() => writtenPages.every(isSet) && usedRings.every((r) => area.pageBit(usedLogGpa(r))), LOG_SETTLE_MS, ctx.signal);
    const run: Omit<LoggedRun, 'afterOff'> = {
      writtenPages,
      unloggedPages: writtenPages.filter((p) => !isSet(p)),
      unloggedUsed: usedRings.filter((r) => !area.pageBit(usedLogGpa(r))),
      clearedBit: firstCleared(preset, area.bits()),
      canary: area.canaryDamage(),
    };

    const off = await switchLogging(rig, false);
    if (off) return fail(off.expected, off.actual);
    const afterOff = await loopCheck(rig, 0, { count: 8, size: 64, firstSeq: 200, warm: true, timeoutMs: ctx.waitMs, signal: ctx.signal });
    return { ...run, afterOff };
  } finally {
    area.close();
  }
}

const pages = (list: readonly number[]): string => list.slice(0, 4).map((p) => `0x${(p * VHOST_LOG_PAGE).toString(16)}`).join(', ') + (list.length > 4 ? ` (+${list.length - 4} more)` : '');

/** Runs {@link loggedTraffic} on a fresh rig and judges what it found with `judge`. */
function withLoggedTraffic(ctx: CaseContext, judge: (run: LoggedRun) => Verdict): Promise<Verdict> {
  return withRig(ctx, { protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK) | featureMask(ProtocolFeature.LOG_SHMFD) }, async (rig) => {
    const run = await loggedTraffic(ctx, rig);
    if ('status' in run) return run;
    ctx.note(`${run.writtenPages.length} RX pages written with logging on; ${run.unloggedPages.length} without their bit`);
    return judge(run);
  });
}

/** The dirty-log cases that need traffic. */
export const dirtyLogTrafficCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/migration/log-all-switched-on-under-traffic',
    title: 'Logging switched on while the rings run marks every page written, ORs into the log, stays inside it and can be switched off',
    area: 'migration', requirements: ['VU-MIG-003', 'VU-MIG-005', 'VU-MIG-006', 'VU-FEAT-005', 'VU-RING-015'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: NEEDS,
    spec: { ...SPEC, quote: 'With VHOST_F_LOG_ALL the back-end sets the bit of every page it writes (page = address / 4096, LSB first) with an atomic OR; SET_FEATURES and SET_VRING_ADDR may come again while rings run to switch logging' },
    description: `Loops 8 frames, then hands over a log covering guest RAM (pre-filled with a pattern except the RX buffer pages, a canary after it), sends SET_FEATURES | LOG_ALL and SET_VRING_ADDR with VHOST_VRING_F_LOG on both rings (NEED_REPLY, ack 0), loops ${LOGGED_FRAMES} frames: every RX page holding data must have its bit, every pre-set bit must still be set and the canary intact; then logging is switched off and 8 more frames must loop.`,
    run: (ctx) => withLoggedTraffic(ctx, (run) => verdictOf(
      run.unloggedPages.length === 0 ? undefined : mismatch(`VU-MIG-003: every page the back-end wrote through a descriptor has its log bit (${run.writtenPages.length} RX pages hold data)`, `no bit for ${run.unloggedPages.length} of them: GPA ${pages(run.unloggedPages)}`),
      run.clearedBit === undefined ? undefined : mismatch('VU-MIG-005: log updates are ORs; bits set before the traffic stay set', run.clearedBit),
      run.canary === undefined ? undefined : mismatch('VU-MIG-006: nothing is written outside the log (mmap_size)', run.canary),
      run.afterOff === undefined ? undefined : { expected: run.afterOff.expected.map((e) => `VU-FEAT-005: after VHOST_F_LOG_ALL is dropped again: ${e}`), actual: run.afterOff.actual },
    )),
  },
  {
    id: 'backend/migration/used-ring-logged-at-log-guest-addr',
    title: 'With VHOST_VRING_F_LOG, used-ring writes are logged at log_guest_addr',
    area: 'migration', requirements: ['VU-MIG-004', 'VU-RING-015'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: NEEDS,
    spec: { ...SPEC, quote: 'VHOST_VRING_F_LOG: the back-end logs writes to the used ring at log_guest_addr' },
    description: `Switches logging on under running rings as QEMU does at migration start, with each ring's log_guest_addr at a GPA below guest RAM (0x80000000, 0x80002000), and loops ${LOGGED_FRAMES} frames: the log bit of each of those pages must be set, since the back-end wrote both used rings.`,
    run: (ctx) => withLoggedTraffic(ctx, (run) => (run.unloggedUsed.length === 0
      ? pass()
      : fail('VU-MIG-004: the log bit of the page at each ring\'s log_guest_addr is set once the back-end wrote its used ring', `no bit for ring${run.unloggedUsed.length > 1 ? 's' : ''} ${run.unloggedUsed.join(', ')} (log_guest_addr ${run.unloggedUsed.map((r) => `0x${usedLogGpa(r).toString(16)}`).join(', ')})`))),
  },
]);

/**
 * Robustness against a careless or hostile front-end (CHECKLIST ROBUST rows; VU-RECON-010,
 * VU-MSG-010/011, VU-SESS-003): no fd growth over many sessions, floods of stray fds, rapid
 * connect/disconnect, connections cut in the middle of a message. A back-end may refuse or close;
 * it must never crash, hang or leak, and the next connection must work.
 * @module
 */
import { FrontendRequest, encodeRaw, makeFlags, memoryTable, u64 } from '../../fakes/wire/index.js';
import { MemfdGuestMemory } from '../../fakes/memory/index.js';
import type { CaseContext, ConformanceCase } from '../model.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { FdProbe, stillOpen } from '../verify/ring-fd-probe.js';
import { sendForAck, stillServes } from '../verify/ring-outcome.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, skip, verdictOf, type CheckResult } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';
import { negotiatedSession } from './ring-states.js';

const NET = ['net'] as const;

/** A full session: rings, a few frames, then close. */
async function oneSession(ctx: CaseContext, seq: number): Promise<CheckResult> {
  return withRig(ctx, {}, async (rig) => {
    await rig.startAll();
    const r = await loopCheck(rig, 0, { count: 8, size: 64, firstSeq: seq, timeoutMs: ctx.waitMs, signal: ctx.signal });
    rig.session.close();
    return r;
  });
}

/** Waits until the peer's fd count is at most `limit`; returns the last count seen. */
async function settleFds(ctx: CaseContext, limit: number): Promise<number | undefined> {
  let n = ctx.peerFdCount();
  await waitUntil(() => { n = ctx.peerFdCount(); return n === undefined || n <= limit; }, ctx.waitMs, ctx.signal);
  return n;
}

/** The robustness cases. */
export const robustnessCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/robustness/no-fd-growth-over-sessions',
    title: 'Open fds do not grow over many full sessions',
    area: 'robustness', requirements: ['VU-RECON-010'], level: 'ROBUST', role: 'backend', deviceTypes: NET,
    needs: { localPeer: true, loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'A closed connection leaves nothing behind: memory table, ring fds and the socket of the old session are released.' },
    description: 'Runs one full session (memory table, rings, eventfds, traffic) to warm the back-end up, counts its open fds, runs 6 more, and expects the count back within 2 of the baseline.',
    timeoutMs: 60_000,
    async run(ctx) {
      if (ctx.peerFdCount() === undefined) return skip('the back-end\'s fd count cannot be read (not a local process started by the runner)');
      const w = await oneSession(ctx, 0);
      if (w) return fail(w.expected, `precondition: ${w.actual}`);
      await sleep(ctx.quietMs, ctx.signal);
      const baseline = ctx.peerFdCount()!;
      for (let i = 1; i <= 6; i++) {
        const r = await oneSession(ctx, i * 100);
        if (r) return fail(r.expected, `session ${i + 1}: ${r.actual}`);
      }
      const after = await settleFds(ctx, baseline + 2);
      if (after !== undefined && after > baseline + 2) return fail(`at most ${baseline + 2} open fds after 6 more sessions (baseline ${baseline})`, `${after} open fds`);
      return pass(`fds: baseline ${baseline}, after ${after}`);
    },
  },
  // CVE-2019-14818 / CVE-2022-0669 class: fds attached where none are defined are closed.
  {
    id: 'backend/robustness/fd-flood',
    title: 'Floods of stray fds are closed and do not accumulate',
    area: 'robustness', requirements: ['VU-MSG-010', 'VU-MSG-011'], level: 'ROBUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'Messages carry fds only where the request defines them; others must be closed, never kept.' },
    description: 'Sends 8 messages (GET_FEATURES, and SET_VRING_CALL with the no-fd flag) each carrying 8 pipe write ends, reopening the connection whenever the back-end closes it: all 64 pipes must hang up, the fd count must return to where it was, and the back-end must keep serving.',
    timeoutMs: 60_000,
    async run(ctx) {
      let s = await negotiatedSession(ctx);
      await sleep(ctx.quietMs, ctx.signal);
      const baseline = ctx.peerFdCount();
      const probes: FdProbe[] = [];
      for (let m = 0; m < 8; m++) {
        const batch = Array.from({ length: 8 }, () => new FdProbe());
        probes.push(...batch);
        const fds = batch.map((p) => p.writeFd);
        if (m % 2 === 0) {
          try {
            s.sendRaw({ request: FrontendRequest.GET_FEATURES, flags: makeFlags(), size: 0, body: new Uint8Array(0), fds });
            await s.receiveRaw(ctx.waitMs, FrontendRequest.GET_FEATURES);
          } catch { /* refused by closing: fine */ }
        } else {
          await sendForAck(s, FrontendRequest.SET_VRING_CALL, u64.encode(0x100n), fds);
        }
        for (const p of batch) p.sent();
        if (s.connection.isBroken) { s.close(); s = await negotiatedSession(ctx); }
      }
      const open = await stillOpen(probes, ctx.waitMs);
      const checks: CheckResult[] = [];
      if (open.length > 0) checks.push(mismatch('all 64 stray fds are closed by the back-end', `${open.length} of 64 still open after ${ctx.waitMs} ms`));
      checks.push(await stillServes(s, () => ctx.openSession()));
      if (baseline !== undefined) {
        const after = await settleFds(ctx, baseline + 2);
        if (after !== undefined && after > baseline + 2) checks.push(mismatch(`at most ${baseline + 2} open fds after the flood (baseline ${baseline})`, `${after}`));
      }
      return verdictOf(...checks);
    },
  },
  {
    id: 'backend/robustness/rapid-connect-disconnect',
    title: '40 connections opened and dropped at once leave the back-end serving',
    area: 'robustness', requirements: ['VU-RECON-010'], level: 'ROBUST', role: 'backend', needs: { mode: 'server' },
    spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'The back-end survives the front-end disappearing at any point and serves the next connection.' },
    description: 'Opens and immediately closes 40 connections (every fourth after half a GET_FEATURES header), then a fresh session must be answered.',
    timeoutMs: 60_000,
    async run(ctx) {
      const half = encodeRaw({ request: FrontendRequest.GET_FEATURES, flags: makeFlags(), size: 0, body: new Uint8Array(0), fds: [] }).subarray(0, 6);
      for (let i = 0; i < 40; i++) {
        const s = await ctx.openSession();
        if (i % 4 === 3) { try { s.connection.sendBytes(half); } catch { /* gone already */ } }
        s.close();
      }
      if (ctx.peerAlive() === false) return fail('the back-end survives rapid connect/disconnect', 'it exited');
      return verdictOf(await stillServes(undefined, () => ctx.openSession()));
    },
  },
  {
    id: 'backend/robustness/cut-mid-message',
    title: 'A connection cut inside a message leaves the next session fully working',
    area: 'robustness', requirements: ['VU-RECON-010'], level: 'ROBUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'vhost-user', anchor: 'Communication', quote: 'The back-end survives the front-end disappearing at any point, including inside a message, and serves the next connection.' },
    description: 'Three times: negotiates, sends the first 4, 12 or 20 bytes of a SET_MEM_TABLE (the memfd attached to the first byte) and closes; then a full session with traffic must work.',
    timeoutMs: 60_000,
    async run(ctx) {
      const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0x1_0000_0000, size: 0x10_0000 }]);
      try {
        const r = mem.regions[0];
        const body = memoryTable.encode({ regions: [{ guestPhysAddr: BigInt(r.guestPhysAddr), memorySize: BigInt(r.size), userspaceAddr: BigInt(r.userAddr), mmapOffset: BigInt(r.mmapOffset) }] });
        const bytes = encodeRaw({ request: FrontendRequest.SET_MEM_TABLE, flags: makeFlags(), size: body.byteLength, body, fds: [] });
        for (const cut of [4, 12, 20]) {
          const s = await negotiatedSession(ctx);
          s.connection.sendBytes(bytes.subarray(0, cut), [r.fd!]);
          s.close();
          await sleep(20, ctx.signal);
        }
      } finally {
        mem.close();
      }
      if (ctx.peerAlive() === false) return fail('the back-end survives connections cut inside a message', 'it exited');
      const r = await oneSession(ctx, 0);
      return verdictOf(r && mismatch(r.expected.map((e) => `after the cuts: ${e}`), r.actual));
    },
  },
]);

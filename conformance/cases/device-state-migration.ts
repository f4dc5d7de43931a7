/**
 * Back-end state migration (vhost-user.rst "Migrating back-end state", SET_DEVICE_STATE_FD and
 * CHECK_DEVICE_STATE; CHECKLIST VU-MIG-010..014), where DEVICE_STATE is offered. QEMU suspends
 * the device (GET_VRING_BASE on every ring), has the source back-end write its state into a pipe,
 * hands the bytes to the destination back-end, and asks each whether the transfer worked; the
 * destination then resumes the rings at the source's bases without the guest noticing.
 * @module
 */
import { closeFd, pipe } from '../../native/index.js';
import { ProtocolFeature, featureMask } from '../../fakes/wire/index.js';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import type { CaseContext, CaseNeeds, ConformanceCase, Verdict } from '../model.js';
import { loopCheck } from '../verify/data-net-loop.js';
import { askTransfer, checkDeviceState, readStream, startTransfer, writeStream } from '../verify/device-state-transfer.js';
import { verifyStillServing } from '../verify/index.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';

const RX = 0;
const TX = 1;
const needs: CaseNeeds = { protocolFeatures: [ProtocolFeature.DEVICE_STATE], loopingNet: true };
const rig = { protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK, ProtocolFeature.DEVICE_STATE) };
const SPEC = { doc: 'vhost-user', anchor: 'Migrating back-end state' } as const;
const NET = ['net'] as const;

/** Loops a few frames, then suspends the device: GET_VRING_BASE on both rings. */
async function runThenSuspend(r: RingRig, ctx: CaseContext): Promise<Verdict | undefined> {
  await r.startAll();
  const bad = await loopCheck(r, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
  if (bad) return fail(bad.expected, `precondition (traffic before the transfer): ${bad.actual}`);
  await r.session.getVringBase(RX);
  await r.session.getVringBase(TX);
  return undefined;
}

/** Saves the suspended device's state: the stream, or a fail verdict (VU-MIG-010, VU-MIG-014). */
async function save(session: FrontendSession, ctx: CaseContext): Promise<Uint8Array | Verdict> {
  const t = await startTransfer(session, 0, ctx.waitMs);
  if (!t.ok) return fail(t.expected, `save: ${t.actual}`);
  const stream = await readStream(t.fd, ctx.waitMs);
  if (typeof stream === 'string') return fail('the whole state written to the fd, then EOF', stream);
  const check = await checkDeviceState(session, ctx.waitMs);
  if (check !== 0n) return fail('CHECK_DEVICE_STATE after the save returns 0', typeof check === 'string' ? check : `returned ${check}`);
  ctx.note(`saved ${stream.length} bytes${t.backendFd ? " through the back-end's own fd" : ''}`);
  return stream;
}

/** Loads `stream` into `session`; CHECK_DEVICE_STATE's answer, or why the transfer itself failed. */
async function load(session: FrontendSession, stream: Uint8Array, ctx: CaseContext): Promise<{ check: bigint | string } | { broken: Verdict }> {
  const t = await startTransfer(session, 1, ctx.waitMs);
  if (!t.ok) return { broken: fail(t.expected, `load: ${t.actual}`) };
  const short = await writeStream(t.fd, stream, ctx.waitMs);
  if (short !== undefined) return { broken: fail(`the back-end takes the whole ${stream.length}-byte stream`, short) };
  return { check: await checkDeviceState(session, ctx.waitMs) };
}

const isVerdict = (v: unknown): v is Verdict => typeof v === 'object' && v !== null && 'status' in v;

/** How a stream is damaged for VU-MIG-012. */
const DAMAGE: readonly { slug: string; what: string; apply: (s: Uint8Array) => Uint8Array }[] = [
  { slug: 'truncated', what: 'cut to half its length', apply: (s) => s.slice(0, s.length >>> 1) },
  { slug: 'empty', what: 'empty (EOF at once)', apply: () => new Uint8Array(0) },
  { slug: 'inverted', what: 'with every byte inverted', apply: (s) => s.map((b) => b ^ 0xff) },
];

export const deviceStateMigrationCases: readonly ConformanceCase[] = [
  {
    id: 'backend/migration/device-state/save-then-check',
    title: 'A suspended device writes its state to the fd, closes it, and CHECK_DEVICE_STATE returns 0',
    area: 'migration', requirements: ['VU-MIG-010', 'VU-MIG-014'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'The back-end writes its state into the pipe and closes it when done; the front-end then sends CHECK_DEVICE_STATE, which returns 0 on success. Bit 8 of the reply is set when no fd is returned.' },
    description: 'Loops 8 frames, stops both rings with GET_VRING_BASE, sends SET_DEVICE_STATE_FD (save, phase stopped) with a pipe\'s write end: the reply must carry error 0 and an fd exactly when bit 8 is clear; the stream must end (EOF) within the wait, and CHECK_DEVICE_STATE must return 0.',
    async run(ctx) {
      return withRig(ctx, rig, async (r) => {
        const pre = await runThenSuspend(r, ctx);
        if (pre) return pre;
        const stream = await save(r.session, ctx);
        return isVerdict(stream) ? stream : pass(`${stream.length} bytes`);
      });
    },
  },
  {
    id: 'backend/migration/device-state/load-then-resume',
    title: 'The saved state loads into a new session, CHECK_DEVICE_STATE returns 0, and the rings resume at the old bases',
    area: 'migration', requirements: ['VU-MIG-011'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'The destination back-end reads the state from the pipe until EOF; CHECK_DEVICE_STATE returns 0 when it was loaded, and the device resumes without the driver re-initialising it.' },
    description: 'Saves the state of a suspended device, closes the session, opens a new one on the same memory and rings, loads the stream with SET_DEVICE_STATE_FD (load) before any ring message, checks it (0 expected), restarts the rings at their used indices and loops 16 more frames.',
    async run(ctx) {
      return withRig(ctx, rig, async (r) => {
        const pre = await runThenSuspend(r, ctx);
        if (pre) return pre;
        const stream = await save(r.session, ctx);
        if (isVerdict(stream)) return stream;
        r.session.close();
        let loaded: { check: bigint | string } | { broken: Verdict } | undefined;
        await r.reattach(await ctx.openSession(), {}, async (s) => {
          loaded = await load(s, stream, ctx);
        });
        if (loaded === undefined) return fail('the load ran', 'it did not');
        if ('broken' in loaded) return loaded.broken;
        if (loaded.check !== 0n) return fail(`CHECK_DEVICE_STATE after loading the ${stream.length}-byte stream returns 0`, typeof loaded.check === 'string' ? loaded.check : `returned ${loaded.check}`);
        const bad = await loopCheck(r, 0, { count: 16, size: 64, firstSeq: 7000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (bad) return fail(bad.expected.map((e) => `after the load: ${e}`), bad.actual);
        return pass(`${stream.length} bytes loaded; traffic resumed`);
      });
    },
  },
  ...DAMAGE.map((d): ConformanceCase => ({
    id: `backend/migration/device-state/damaged-stream-refused/${d.slug}`,
    title: `A saved stream ${d.what} makes CHECK_DEVICE_STATE non-zero, and the back-end lives on`,
    area: 'migration', requirements: ['VU-MIG-012'], level: 'MUST', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'CHECK_DEVICE_STATE: the back-end reports whether the transferred state was valid; a non-zero value is an error.' },
    description: `Saves the state of a suspended device, opens a new session and loads the stream ${d.what}: CHECK_DEVICE_STATE must return non-zero (or the back-end close the session), the back-end must stay alive and go on serving the session.`,
    async run(ctx) {
      return withRig(ctx, rig, async (r) => {
        const pre = await runThenSuspend(r, ctx);
        if (pre) return pre;
        const stream = await save(r.session, ctx);
        if (isVerdict(stream)) return stream;
        if (stream.length === 0 && d.slug !== 'empty') return { status: 'skip', reason: 'the back-end saved an empty stream: there is nothing to damage' };
        r.session.close();
        const result: { loaded: { check: bigint | string } | { broken: Verdict } } = { loaded: { check: 'not loaded' } };
        // The load goes where QEMU puts it: after the memory table, before the first ring message.
        await r.reattach(await ctx.openSession(), {}, async (s) => {
          result.loaded = await load(s, d.apply(stream), ctx);
        }).catch((e: unknown) => ctx.note(`ring set-up after the refused load: ${(e as Error).message}`));
        const loaded = result.loaded;
        const expected = [`CHECK_DEVICE_STATE returns non-zero for the stream ${d.what}`, 'the back-end closes the session'];
        if ('broken' in loaded) {
          // Refusing the transfer itself is a refusal too, as long as it is not a crash.
          if (ctx.peerAlive() === false) return fail(expected, 'the back-end died');
          const v = loaded.broken;
          return pass(`transfer refused${v.status === 'fail' ? `: ${v.actual}` : ''}`);
        }
        if (loaded.check === 0n) return fail(expected, `CHECK_DEVICE_STATE returned 0: the damaged state was taken as valid`);
        if (ctx.peerAlive() === false) return fail(expected, 'the back-end died');
        const alive = await verifyStillServing(r.session, ctx.waitMs);
        if (!alive.ok) return fail(alive.expected, alive.actual);
        return pass(typeof loaded.check === 'string' ? loaded.check : `CHECK_DEVICE_STATE returned ${loaded.check}`);
      });
    },
  })),
  {
    id: 'backend/migration/device-state/refused-while-running',
    title: 'SET_DEVICE_STATE_FD is refused while a ring runs, and for an unknown direction',
    area: 'migration', requirements: ['VU-MIG-013', 'VU-MIG-014'], level: 'SHOULD', role: 'backend', deviceTypes: NET, needs,
    spec: { ...SPEC, quote: 'The front-end only transfers state of a suspended device; SET_DEVICE_STATE_FD replies with a non-zero error code (bits 0–7) when it cannot do the transfer, and then returns no fd.' },
    description: 'With both rings started and traffic flowing, sends SET_DEVICE_STATE_FD (save); then, with the rings stopped, one with direction 2. Each reply must have a non-zero error code and no fd attached.',
    async run(ctx) {
      return withRig(ctx, rig, async (r) => {
        await r.startAll();
        const bad = await loopCheck(r, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (bad) return fail(bad.expected, `precondition: ${bad.actual}`);
        const running = await refusal(r.session, 0, ctx, 'while rings 0 and 1 run');
        if (running) return running;
        await r.session.getVringBase(RX);
        await r.session.getVringBase(TX);
        return (await refusal(r.session, 2, ctx, 'with direction 2 (undefined)')) ?? pass();
      });
    },
  },
];

/** Sends SET_DEVICE_STATE_FD with `direction`; a fail verdict unless it is refused with no fd. */
async function refusal(session: FrontendSession, direction: number, ctx: CaseContext, when: string): Promise<Verdict | undefined> {
  const [rd, wr] = pipe();
  try {
    const a = await askTransfer(session, direction, wr, ctx.waitMs);
    for (const fd of a.fds) closeFd(fd);
    const expected = `a reply with a non-zero error code and no fd ${when}`;
    if (!a.reply) return fail(expected, a.actual);
    if (a.error === 0) return fail(expected, `error code 0 ${when}: the transfer was accepted`);
    if (a.fds.length > 0 || !a.noFd) return fail(expected, `error ${a.error} with bit 8 ${a.noFd ? 'set' : 'clear'} and ${a.fds.length} fd(s)`);
    return undefined;
  } finally {
    closeFd(rd);
    closeFd(wr);
  }
}

import { describe, it, expect } from 'vitest';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { TimeoutError } from '../../fakes/wire/index.js';
import type { ConformanceCase, PeerInfo, Verdict } from '../model.js';
import { ProfileError, checkProfile } from '../profiles/load-profile.js';
import { applyExpectation, checkExpectations } from './expectations.js';
import { exitCodeOf } from './document.js';
import { expectedResultCount, failsRun, runSuite } from './run-suite.js';
import { selectCases } from './select.js';
import type { Target } from './target.js';

const PEER: PeerInfo = { deviceType: 'net', mode: 'server', features: 1n << 32n, protocolFeatures: 1n << 3n, queueNum: 1, maxMemSlots: 8, restartable: true };

/** A fake peer: no process, no sockets; it records restarts and can be made to "crash". */
class FakeTarget implements Target {
  restarts = 0;
  starts = 0;
  stops = 0;
  crash: string | undefined;
  sessionsOpened = 0;
  readonly restartable = true;
  readonly restartPerCase = false;
  readonly pid = 4242;
  /** The error the peer broke each session's connection with (a reset), if any. */
  brokenBy: Error | undefined;
  /** Set: the peer is still going down when the case ends and dies with this within awaitExit. */
  dyingWith: string | undefined;
  constructor(private readonly allowSessions = false) {}
  async start(): Promise<void> { this.starts++; }
  async probe(): Promise<PeerInfo> { return { ...PEER }; }
  async openSession(): Promise<FrontendSession> {
    if (!this.allowSessions) throw new Error('the fake target must never be asked for a session');
    this.sessionsOpened++;
    return { close() {}, messages: [], connection: { brokenBy: this.brokenBy } } as unknown as FrontendSession;
  }
  async awaitExit(): Promise<void> {
    if (this.dyingWith !== undefined) this.crash = this.dyingWith;
  }
  async restart(): Promise<void> { this.restarts++; this.crash = undefined; }
  async kill(): Promise<void> {}
  alive(): boolean { return this.crash === undefined; }
  takeCrash(): string | undefined { return this.crash; }
  fdCount(): number { return 10; }
  logTail(): string { return 'log'; }
  async stop(): Promise<void> { this.stops++; }
}

function fakeCase(id: string, run: ConformanceCase['run'], extra: Partial<ConformanceCase> = {}): ConformanceCase {
  return {
    id, title: id, area: id.split('/')[0]!, requirements: ['VU-MSG-001'], level: 'MUST', role: 'backend',
    spec: { doc: 'vhost-user', anchor: 'Header' }, description: id, run, ...extra,
  };
}
const pass = async (): Promise<Verdict> => ({ status: 'pass' });
const fail = async (): Promise<Verdict> => ({ status: 'fail', expected: ['x'], actual: 'y' });

describe('selection', () => {
  const cases = ['framing/a', 'framing/b', 'session/a', 'memory/x'].map((id) => fakeCase(id, pass));
  it('keeps --only prefixes, then drops --skip prefixes, in catalogue order', () => {
    expect(selectCases(cases, { only: ['framing/', 'memory'], skip: ['framing/b'] }).cases.map((c) => c.id)).toEqual(['framing/a', 'memory/x']);
    expect(selectCases(cases, {}).cases).toHaveLength(4);
  });
  it('reports prefixes that match nothing', () => {
    expect(selectCases(cases, { only: ['framin/'] }).unmatched).toEqual(['framin/']);
  });
});

describe('expectations', () => {
  const known = new Set(['a/b']);
  it('rejects unknown ids, bad statuses and missing reasons, naming the entry', () => {
    expect(() => checkExpectations({ expectations: [{ id: 'nope', status: 'fail', reason: 'VU-MSG-001 because' }] }, 'f', known)).toThrow(/expectations\[0\]\.id/);
    expect(() => checkExpectations({ expectations: [{ id: 'a/b', status: 'xfail', reason: 'VU-MSG-001 because' }] }, 'f', known)).toThrow(/status/);
    expect(() => checkExpectations({ expectations: [{ id: 'a/b', status: 'fail' }] }, 'f', known)).toThrow(/reason/);
  });
  it('turns a listed failure into waived/xfail and a listed pass into fail/xpass; never waives errors', () => {
    const entry = { id: 'a/b', status: 'fail' as const, reason: 'VU-MSG-001 known' };
    const base = { id: 'a/b', title: '', area: '', requirements: [], level: 'MUST' as const, durationMs: 0, detail: '', evidence: [] };
    expect(applyExpectation({ ...base, status: 'fail' }, entry)).toMatchObject({ status: 'waived', expectation: 'xfail' });
    expect(applyExpectation({ ...base, status: 'pass' }, entry)).toMatchObject({ status: 'fail', expectation: 'xpass' });
    expect(applyExpectation({ ...base, status: 'error' }, entry).status).toBe('error');
  });
});

describe('runSuite', () => {
  it('skips cases whose needs are unmet without touching the target', async () => {
    const t = new FakeTarget();
    const run = await runSuite({ target: t, cases: [fakeCase('x/packed', pass, { needs: { features: [34] } }), fakeCase('x/blk', pass, { deviceTypes: ['blk'] })] });
    expect(run.results.map((r) => r.status)).toEqual(['skip', 'skip']);
    expect(run.results[0]!.detail).toMatch(/RING_PACKED/);
    expect(t.starts).toBe(1);
    expect(t.stops).toBe(1);
  });

  it('matches expectations exactly: xfail waives, xpass fails the run, unlisted failures fail it', async () => {
    const cases = [fakeCase('e/known', fail), fakeCase('e/fixed', pass), fakeCase('e/new', fail), fakeCase('e/ok', pass)];
    const expectations = [{ id: 'e/known', status: 'fail' as const, reason: 'r'.repeat(12) }, { id: 'e/fixed', status: 'fail' as const, reason: 'r'.repeat(12) }];
    const run = await runSuite({ target: new FakeTarget(), cases, expectations });
    expect(run.results.map((r) => [r.status, r.expectation])).toEqual([['waived', 'xfail'], ['fail', 'xpass'], ['fail', undefined], ['pass', undefined]]);
    expect(exitCodeOf(run.results.slice(0, 1), false)).toBe(0);
    expect(exitCodeOf(run.results.slice(0, 2), false)).toBe(1);
    expect(exitCodeOf([run.results[3]!], false)).toBe(0);
  });

  it('a listed skip is not run', async () => {
    let ran = false;
    const run = await runSuite({ target: new FakeTarget(), cases: [fakeCase('s/x', async () => { ran = true; return { status: 'pass' }; })], expectations: [{ id: 's/x', status: 'skip', reason: 'cannot run here at all' }] });
    expect(ran).toBe(false);
    expect(run.results[0]).toMatchObject({ status: 'skip' });
  });

  it('SHOULD failures warn unless strict; MUST failures always fail the run', async () => {
    const run = await runSuite({ target: new FakeTarget(), cases: [fakeCase('l/should', fail, { level: 'SHOULD' })] });
    expect(run.results[0]!.status).toBe('fail');
    expect(failsRun(run.results[0]!, false)).toBe(false);
    expect(exitCodeOf(run.results, false)).toBe(0);
    expect(exitCodeOf(run.results, true)).toBe(1);
  });

  it('a case that ignores its signal is cut off as a timed-out failure and the peer is restarted', async () => {
    const t = new FakeTarget();
    const hang = fakeCase('t/hang', () => new Promise<Verdict>(() => {}), { timeoutMs: 30 });
    const run = await runSuite({ target: t, cases: [hang, fakeCase('t/next', pass)] });
    expect(run.results[0]).toMatchObject({ status: 'fail', actual: 'timed out after 30 ms' });
    expect(run.results[1]!.status).toBe('pass');
    expect(t.restarts).toBe(1);
  });

  it('a peer crash fails the case with how it ended, and the peer is restarted before the next case', async () => {
    const t = new FakeTarget();
    const crasher = fakeCase('c/crash', async () => { t.crash = 'the back-end killed by SIGSEGV'; return { status: 'pass' }; });
    const run = await runSuite({ target: t, cases: [crasher, fakeCase('c/next', pass)] });
    expect(run.results[0]).toMatchObject({ status: 'fail' });
    expect(run.results[0]!.actual).toContain('SIGSEGV');
    expect(run.results[1]!.status).toBe('pass');
    expect(t.restarts).toBe(1);
  });

  it('peer errors thrown by a case are failures; other exceptions are errors', async () => {
    const run = await runSuite({
      target: new FakeTarget(),
      cases: [
        fakeCase('x/peer', async () => { throw new TimeoutError('no reply', { timeoutMs: 5 }); }),
        fakeCase('x/bug', async () => { throw new TypeError('oops'); }),
      ],
    });
    expect(run.results.map((r) => r.status)).toEqual(['fail', 'error']);
    expect(run.results[0]!.detail).toContain('VU-MSG-001');
  });

  it('a peer that reset the connection and dies a moment later is blamed on that case, not the next', async () => {
    const t = new FakeTarget(true);
    t.brokenBy = new Error('ECONNRESET');
    t.dyingWith = 'the back-end killed by SIGABRT';
    const run = await runSuite({
      target: t,
      cases: [
        fakeCase('x/kills', async (ctx) => { await ctx.openSession(); return { status: 'pass' }; }),
        fakeCase('x/next', async () => ({ status: 'pass' })),
      ],
    });
    expect(run.results.map((r) => r.status)).toEqual(['fail', 'pass']);
    expect(run.results[0]!.actual).toContain('SIGABRT');
    expect(t.restarts).toBe(1);
  });

  it('a peer that did not break the connection is not waited for', async () => {
    const t = new FakeTarget(true);
    t.dyingWith = 'the back-end killed by SIGABRT';
    const run = await runSuite({ target: t, cases: [fakeCase('x/calm', async (ctx) => { await ctx.openSession(); return { status: 'pass' }; })] });
    expect(run.results[0]!.status).toBe('pass');
  });

  it('sessions a case opens are closed by the runner and recorded as evidence', async () => {
    const t = new FakeTarget(true);
    let closed = 0;
    const run = await runSuite({
      target: t,
      cases: [fakeCase('s/open', async (ctx) => {
        const s = await ctx.openSession();
        (s as { close: () => void }).close = () => { closed++; };
        ctx.note('hello');
        return { status: 'pass' };
      })],
    });
    expect(closed).toBe(1);
    expect(run.results[0]!.evidence).toEqual([expect.objectContaining({ note: 'hello' })]);
  });

  it('reports missing promised features as a failed profile check', async () => {
    const run = await runSuite({ target: new FakeTarget(), cases: [], expectFeatures: [32, 34], expectProtocolFeatures: [3] });
    expect(run.results[0]).toMatchObject({ id: 'profile/offers-expected-features', status: 'fail' });
    expect(run.results[0]!.detail).toContain('RING_PACKED');
  });

  it('counts the results a run yields, the profile check included, as progress totals need', async () => {
    const cases = [fakeCase('c/a', pass), fakeCase('c/b', pass)];
    const withCheck = await runSuite({ target: new FakeTarget(), cases, expectFeatures: [32] });
    expect(withCheck.results).toHaveLength(expectedResultCount(cases, [32]));
    const without = await runSuite({ target: new FakeTarget(), cases });
    expect(without.results).toHaveLength(expectedResultCount(cases));
  });
});

describe('profiles', () => {
  it('names the bad field', () => {
    expect(() => checkProfile({ name: 'x', command: 'b --socket {socket}', mode: 'both', deviceType: 'net' }, 'p.json', '.')).toThrow(/field "mode"/);
    expect(() => checkProfile({ name: 'x', command: 'b', mode: 'server', deviceType: 'net' }, 'p.json', '.')).toThrow(/field "command"/);
    expect(() => checkProfile({ name: 'x', command: 'b {socket}', mode: 'server', deviceType: 'net', expectFeatures: ['NOPE'] }, 'p.json', '.')).toThrow(ProfileError);
    expect(() => checkProfile({ name: 'x', command: 'b {socket}', mode: 'server', deviceType: 'net', colour: 1 }, 'p.json', '.')).toThrow(/field "colour"/);
  });
  it('accepts feature names and defaults the rest', () => {
    const p = checkProfile({ name: 'x', command: 'b {socket}', mode: 'client', deviceType: 'net', expectFeatures: ['VERSION_1', 'MQ'] }, 'p.json', '.');
    expect(p).toMatchObject({ mode: 'client', expectFeatures: [32, 22], restartPerCase: false, loopingNet: true, startupTimeoutMs: 15000 });
  });
});

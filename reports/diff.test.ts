import { describe, expect, it } from 'vitest';
import { diffResults, formatDiff, hasRegression } from './diff.js';
import { summarize, type ResultDocument } from './model.js';
import { fixture } from './__test-helpers__/fixture.js';

/** A clean baseline: the fixture with every fail/error turned into a pass. */
function clean(): ResultDocument {
  const doc = fixture();
  for (const c of doc.cases) if (c.status === 'fail' || c.status === 'error') c.status = 'pass';
  doc.summary = summarize(doc.cases);
  return doc;
}

describe('diffResults', () => {
  it('finds nothing between a run and itself', () => {
    const d = diffResults(fixture(), fixture());
    expect(d).toMatchObject({ newFailures: [], fixes: [], changed: [], added: [], removed: [], benchmarkChanges: [] });
    expect(hasRegression(d)).toBe(false);
    expect(formatDiff(d)).toBe('Verdict: no differences\n');
  });

  it('names exactly the cases that regressed, and the fixes the other way round', () => {
    const d = diffResults(clean(), fixture());
    expect(d.newFailures.map((c) => [c.id, c.before, c.after])).toEqual([
      ['backend/header/oversized-size', 'pass', 'error'],
      ['backend/reply-ack/nack-on-handler-failure', 'pass', 'fail'],
      ['backend/reply-ack/exactly-one-reply', 'pass', 'fail'],
      ['backend/ring/used-idx-bound', 'pass', 'fail'],
    ]);
    expect(hasRegression(d)).toBe(true);
    const back = diffResults(fixture(), clean());
    expect(back.fixes.map((c) => c.id)).toEqual(d.newFailures.map((c) => c.id));
    expect(hasRegression(back)).toBe(false);
  });

  it('reports added and removed cases; an added failing case is a regression', () => {
    const old = fixture();
    const now = fixture();
    const gone = now.cases.splice(0, 1)[0];
    now.cases.push({ ...gone, id: 'backend/new/thing', status: 'pass' });
    let d = diffResults(old, now);
    expect(d.removed).toEqual([{ id: gone.id, title: gone.title, status: 'pass' }]);
    expect(d.added).toEqual([{ id: 'backend/new/thing', title: gone.title, status: 'pass' }]);
    expect(hasRegression(d)).toBe(false);
    now.cases[now.cases.length - 1].status = 'fail';
    d = diffResults(old, now);
    expect(hasRegression(d)).toBe(true);
    expect(formatDiff(d)).toContain('backend/new/thing  fail (new failure)');
  });

  it('keeps other status changes apart from regressions', () => {
    const now = fixture();
    now.cases[0].status = 'skip';
    now.cases[3].status = 'waived';
    const d = diffResults(fixture(), now);
    expect(d.changed.map((c) => `${c.before}->${c.after}`)).toEqual(['pass->skip', 'fail->waived']);
    expect(hasRegression(d)).toBe(false);
  });

  it('flags benchmark moves beyond the threshold, lower-is-worse for rates and higher-is-worse for times', () => {
    const now = fixture();
    now.benchmarks[0].value = 3.12 * 0.85; // rate down 15 %: worse
    now.benchmarks[1].value = 20.7 * 1.2; // rate up 20 %: better
    now.benchmarks[2].value = 1.9 * 0.95; // within noise
    now.benchmarks[6].value = 912.5 * 1.5; // time up 50 %: worse
    const d = diffResults(fixture(), now);
    expect(d.benchmarkChanges.map((b) => [b.key, b.regression, Math.round(b.change * 100)])).toEqual([
      ['handshake [mode=server] ms', true, 50],
      ['frontend→backend [impl=vhostlab, ring=split, size=64] Mpps', true, -15],
      ['frontend→backend [impl=dpdk, ring=split, size=64] Mpps', false, 20],
    ]);
    expect(hasRegression(d)).toBe(true);
    expect(diffResults(fixture(), now, { threshold: 0.6 }).benchmarkChanges).toEqual([]);
    expect(formatDiff(d)).toContain('WORSE  frontend→backend [impl=vhostlab, ring=split, size=64]: 3.12 -> 2.652 Mpps (-15.0 %)');
  });

  it('honours an explicit better direction and rejects a bad threshold', () => {
    const old = fixture();
    old.benchmarks = [{ name: 'drops', unit: 'pkts', value: 10, params: {}, better: 'lower' }];
    const now = fixture();
    now.benchmarks = [{ name: 'drops', unit: 'pkts', value: 20, params: {}, better: 'lower' }];
    expect(diffResults(old, now).benchmarkChanges[0].regression).toBe(true);
    expect(() => diffResults(old, now, { threshold: -1 })).toThrow(RangeError);
  });
});

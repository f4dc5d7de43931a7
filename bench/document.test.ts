import { describe, expect, it } from 'vitest';
import { diffResults, hasRegression } from '../reports/diff.js';
import { validateResult } from '../reports/validate.js';
import { benchDocument, goalLines } from './document.js';
import type { BenchResult } from './types.js';

function run(results: BenchResult[]) {
  return benchDocument({ startedAt: new Date('2026-12-05T10:00:00Z'), finishedAt: new Date('2026-12-05T10:05:00Z'), quick: true, results, errors: [] });
}

const ours = (value: number, execs: number): BenchResult => ({
  name: 'fuzz-ffi.execs-per-sec', unit: 'execs/s', value, params: { impl: 'vhostlab', target: 'safe', mode: 'bytes', build: 'plain' }, details: { execs, runsMs: [1, 2] },
});

describe('bench document', () => {
  it('is a valid vhostlab.result/v1 document with no cases', () => {
    const doc = run([ours(1000, 5000)]);
    expect(validateResult(JSON.parse(JSON.stringify(doc)))).toEqual([]);
    expect(doc.durationMs).toBe(300_000);
    expect(doc.summary.total).toBe(0);
  });

  it('lets report diff match figures across runs whose per-run details differ', () => {
    const diff = diffResults(run([ours(1000, 5000)]), run([ours(500, 2500)]));
    expect(diff.benchmarkChanges).toHaveLength(1);
    expect(diff.benchmarkChanges[0]).toMatchObject({ before: 1000, after: 500, regression: true });
    expect(hasRegression(diff)).toBe(true);
  });

  it('says which goals are met and which are not', () => {
    const lines = goalLines([
      { name: 'backend-loop-ratio', unit: 'ratio', value: 0.447, params: { size: 64, ring: 'split', goal: 0.5 } },
      { name: 'frontend-loop-ratio', unit: 'ratio', value: 0.55, params: { size: 64, goal: 0.5 } },
      { name: 'deep-bug-speedup', unit: 'x', value: 32, params: { goal: 10 }, details: { lowerBound: true } },
      { name: 'backend-loop-ratio', unit: 'ratio', value: 1.06, params: { size: 1518, ring: 'split' } },
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^NOT MET\s+backend-loop-ratio ring=split, size=64: 0.447 ratio, goal >= 0.5$/);
    expect(lines[1]).toMatch(/^met\s+frontend-loop-ratio/);
    expect(lines[2]).toContain('a lower bound');
  });
});

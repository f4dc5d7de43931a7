import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { biasFactorOf, normalizeSeed, RunRandom } from './indexed-random.js';
import { inputAt, inputSpace, type InputModeValue } from './inputs.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// The worker generates input i as `draw(runs.at(i), biasFactorOf(i))`; the parent regenerates and
// shrinks it through fast-check's own runner. These must agree input for input.
describe('indexed random source and fast-check runs', () => {
  for (const mode of ['bytes', 'structured'] as InputModeValue[]) {
    it.each([1, 0xdeadbeef, -7])(`${mode}: run i of fc.check is inputAt(i) (seed %s)`, (seed) => {
      const space = inputSpace(mode);
      const seen: string[] = [];
      fc.check(fc.property(space.arbitrary, (x) => (seen.push(hex(x)), true)), { seed, numRuns: 150, randomType: space.randomType! });
      expect(seen).toHaveLength(150);
      expect(seen.map((_, i) => hex(inputAt(space, seed, i)))).toEqual(seen);
      // And `path` replay lands on the same run.
      let replayed: Uint8Array | undefined;
      fc.check(fc.property(space.arbitrary, (x) => (replayed ??= x, false)), { seed, path: '97', numRuns: 1, randomType: space.randomType! });
      expect(hex(replayed!)).toBe(seen[97]);
    });
  }

  it('draw returns the bytes generate would, for any run index, without walking the runs before it', () => {
    const space = inputSpace('structured');
    const runs = new RunRandom(5);
    for (const i of [0, 1, 1_000_000, 2 ** 33 + 5]) {
      const viaDraw = hex(space.draw!(runs.at(i), biasFactorOf(i)));
      const viaGenerate = hex(space.arbitrary.generate(new RunRandom(5).at(i), biasFactorOf(i)).value);
      expect(viaDraw).toBe(viaGenerate);
    }
    expect(hex(inputAt(space, 5, 3))).not.toBe(hex(inputAt(space, 5, 4)));
  });

  it('a shrink path replays to the same candidate', () => {
    const space = inputSpace('structured');
    const value = space.arbitrary.generate(new RunRandom(9).at(12), biasFactorOf(12));
    const candidates = [...space.arbitrary.shrink(value.value, value.context).take(5)];
    expect(candidates.length).toBeGreaterThan(0);
    let replayed: Uint8Array | undefined;
    fc.check(fc.property(space.arbitrary, (x) => { if (replayed === undefined) { replayed = x; return false; } return true; }), {
      seed: 9, path: `12:${candidates.length - 1}`, numRuns: 1, randomType: space.randomType!,
    });
    expect(hex(replayed!)).toBe(hex(candidates.at(-1)!.value));
  });

  it('normalises seeds like fast-check', () => {
    expect(normalizeSeed(5)).toBe(5);
    expect(normalizeSeed(0xffffffff)).toBe(-1);
    expect(biasFactorOf(0)).toBe(2);
    expect(biasFactorOf(99)).toBe(4);
  });
});

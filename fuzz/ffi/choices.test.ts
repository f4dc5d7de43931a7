import { describe, expect, it } from 'vitest';
import { Choices, shrinkChoices } from './choices.js';

/** A toy generator: a list of 1 + below(8) items, each one choice below 100. */
function toy(src: Choices): number[] {
  const countPos = src.position;
  const n = 1 + src.below(8);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = src.position;
    out.push(src.below(100));
    src.item(start, countPos);
  }
  return out;
}

describe('Choices', () => {
  it('records what a random run drew, and replaying the record gives the same result', () => {
    const src = new Choices();
    src.startRandom(42, true);
    const first = toy(src);
    const rec = src.finish();
    expect(rec.values.length).toBe(1 + first.length);
    expect(Array.from(rec.spans).length).toBe(3 * first.length);
    src.startReplay(rec.values, false);
    expect(toy(src)).toEqual(first);
  });

  it('draws in range and replays zeros past the end of a sequence', () => {
    const src = new Choices();
    src.startRandom(7, false);
    for (let i = 0; i < 1000; i++) expect(src.below(13)).toBeLessThan(13);
    src.startReplay(Uint32Array.of(3), false);
    expect(toy(src)).toEqual([0, 0, 0, 0]);
  });

  it('shrinks by dropping list items first, keeping the list length consistent', () => {
    const src = new Choices();
    src.startReplay(Uint32Array.of(3, 10, 20, 30, 40), true);
    expect(toy(src)).toEqual([10, 20, 30, 40]);
    const candidates = [...shrinkChoices(src.finish())].map((values) => {
      src.startReplay(values, false);
      return toy(src);
    });
    // Halves from the end, then single items, then lowered values.
    expect(candidates.slice(0, 6)).toEqual([[10, 20], [30, 40], [10, 20, 30], [10, 20, 40], [10, 30, 40], [20, 30, 40]]);
    expect(candidates).toContainEqual([10]); // the length choice alone lowered to 0: one item
    expect(candidates).toContainEqual([10, 20, 30, 0]);
  });
});

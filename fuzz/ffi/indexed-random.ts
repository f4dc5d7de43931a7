/**
 * A fast-check random generator (`randomType`) whose state for run `i` is a pure function of
 * `(seed, i)`, and the few lines of fast-check's runner it has to agree with, so that the worker
 * can generate input `i` by itself and `fc.check({seed, path: String(i), randomType})` in the
 * parent regenerates (and shrinks) the very same value.
 *
 * fast-check's runner (`toss` in fast-check 4) keeps one generator, calls `jump()` before each run
 * and hands the arbitrary `new Random(rng)` (a clone) with a bias factor derived from the run
 * index. Its default xorshift128+ jumps in 128 steps, so reaching run 10⁶ costs 10⁶ jumps; here
 * `jump()` is "index + 1, then rehash", so the worker seeks to any run in O(1). The per-run stream
 * is an ordinary xorshift128+ (pure-rand's `next`), seeded by hashing `(seed, index)`.
 *
 * `indexed-random.test.ts` checks the agreement with fast-check's runner run by run; it is what
 * breaks first if a fast-check upgrade changes how runs are tossed.
 * @module
 */
import fc from 'fast-check';

const TWO_32 = 4294967296;

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection of int32. */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A seekable generator: run `i` of a check sees the state `seek(i + 1)` sets. */
export class IndexedRandom {
  private s01 = 0;
  private s00 = 0;
  private s11 = 0;
  private s10 = 0;
  private index = 0;

  /** @param seed - the int32 seed fast-check hands to `randomType` (see {@link normalizeSeed}). */
  constructor(private readonly seed: number) {
    this.seek(0);
  }

  /** Moves to stream `index` (0 before the first run; run i uses i + 1). */
  seek(index: number): void {
    this.index = index;
    const lo = index >>> 0;
    const hi = (index / TWO_32) >>> 0;
    const base = fmix32(this.seed ^ 0x5bd1e995);
    this.s01 = fmix32(base ^ fmix32(lo ^ 0x9e3779b9) ^ hi);
    this.s00 = fmix32(this.s01 ^ lo ^ 0x7f4a7c15);
    this.s11 = fmix32(this.s00 ^ base ^ fmix32(hi + 0x632be5ab));
    this.s10 = fmix32(this.s11 ^ lo) | 1; // never the all-zero state
  }

  /** fast-check's runner: "the next run". */
  jump(): void {
    this.seek(this.index + 1);
  }

  clone(): IndexedRandom {
    const c = new IndexedRandom(this.seed);
    c.s01 = this.s01;
    c.s00 = this.s00;
    c.s11 = this.s11;
    c.s10 = this.s10;
    c.index = this.index;
    return c;
  }

  /** xorshift128+ step (as pure-rand's): a uniform int32. */
  next(): number {
    const a0 = this.s00 ^ (this.s00 << 23);
    const a1 = this.s01 ^ ((this.s01 << 23) | (this.s00 >>> 9));
    const s10 = this.s10;
    const s11 = this.s11;
    const out = (this.s00 + s10) | 0;
    this.s01 = s11;
    this.s00 = s10;
    this.s11 = a1 ^ s11 ^ (a1 >>> 18) ^ (s11 >>> 5);
    this.s10 = a0 ^ s10 ^ ((a0 >>> 18) | (a1 << 14)) ^ ((s10 >>> 5) | (s11 << 27));
    return out;
  }

  getState(): readonly number[] {
    return [this.seed, this.index >>> 0, (this.index / TWO_32) >>> 0, this.s01, this.s00, this.s11, this.s10];
  }
}

/** The `randomType` to pass to fast-check wherever an indexed input space is checked. */
export const indexedRandom = (seed: number): IndexedRandom => new IndexedRandom(seed);

/** fast-check's `readSeed`: how `Parameters.seed` becomes the int32 given to `randomType`. */
export function normalizeSeed(seed: number): number {
  const seed32 = seed | 0;
  if (seed === seed32) return seed32;
  return seed32 ^ ((seed - seed32) * TWO_32);
}

/** fast-check's `runIdToFrequency`: the bias factor a property passes to its arbitrary on run `runId`. */
export function biasFactorOf(runId: number): number {
  return 2 + ~~(Math.log(runId + 1) * 0.4342944819032518);
}

/**
 * Walks the runs of a check from the worker's side: `at(i)` returns the `fc.Random` and bias
 * factor fast-check gives the arbitrary on run `i`, in O(1) for any `i`.
 */
export class RunRandom {
  private readonly rng: IndexedRandom;
  constructor(seed: number) {
    this.rng = new IndexedRandom(normalizeSeed(seed));
  }

  /** The random source of run `i` (a fresh clone, as fast-check hands out). */
  at(i: number): fc.Random {
    this.rng.seek(i + 1);
    return new fc.Random(this.rng);
  }
}

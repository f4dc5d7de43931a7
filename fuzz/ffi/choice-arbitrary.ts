/**
 * A fast-check arbitrary of byte strings over a hand-written {@link ChoiceGenerator}. It has two
 * entry points that agree byte for byte:
 *
 * - `draw(mrng, biasFactor)`: the worker's hot path. Two draws from fast-check's `Random` (bias
 *   and a seed), then the generator runs on its own PRNG; no recording, no copies, no
 *   `fc.Value`. The result is a view of a scratch buffer, valid until the next call.
 * - `generate(mrng, biasFactor)`: the same bytes as a fast-check value, with the recorded choice
 *   sequence as context, so fast-check shrinks it (see `shrinkChoices`) and replays shrink paths.
 *
 * So `fc.check({seed, path: 'i:…', randomType: indexedRandom})` in the parent regenerates exactly
 * what the worker ran as input `i`.
 * @module
 */
import fc from 'fast-check';
import { Choices, shrinkChoices, type ChoiceRecord } from './choices.js';

/**
 * Builds one input from `src`. `small` is fast-check's bias ("prefer small values" on this run).
 * May return a view of an internal buffer that the next call overwrites.
 */
export type ChoiceGenerator = (src: Choices, small: boolean) => Uint8Array;

/** Shrink context of a generated value. */
interface ChoiceContext {
  readonly small: boolean;
  readonly record: ChoiceRecord;
}

const isChoiceContext = (c: unknown): c is ChoiceContext =>
  typeof c === 'object' && c !== null && 'record' in c && 'small' in c;

/** See the module comment. */
export class ChoiceArbitrary extends fc.Arbitrary<Uint8Array> {
  private readonly src = new Choices();

  constructor(private readonly generator: ChoiceGenerator) {
    super();
  }

  /** The bytes `generate` would give for the same `mrng` state, as a short-lived view. */
  draw(mrng: fc.Random, biasFactor: number | undefined): Uint8Array {
    const small = biasFactor !== undefined && mrng.nextInt(1, biasFactor) === 1;
    this.src.startRandom(mrng.nextInt(-0x80000000, 0x7fffffff), false);
    return this.generator(this.src, small);
  }

  override generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Uint8Array> {
    const small = biasFactor !== undefined && mrng.nextInt(1, biasFactor) === 1;
    this.src.startRandom(mrng.nextInt(-0x80000000, 0x7fffffff), true);
    const bytes = this.generator(this.src, small).slice();
    return new fc.Value(bytes, { small, record: this.src.finish() } satisfies ChoiceContext);
  }

  /** Replays a (shrunk) choice sequence into bytes and the record of what it consumed. */
  replay(values: Uint32Array, small: boolean): fc.Value<Uint8Array> {
    this.src.startReplay(values, true);
    const bytes = this.generator(this.src, small).slice();
    return new fc.Value(bytes, { small, record: this.src.finish() } satisfies ChoiceContext);
  }

  /** Bytes alone cannot be mapped back to choices. */
  override canShrinkWithoutContext(value: unknown): value is Uint8Array {
    return false;
  }

  override shrink(value: Uint8Array, context: unknown): fc.Stream<fc.Value<Uint8Array>> {
    if (!isChoiceContext(context)) return fc.Stream.nil();
    const { small, record } = context;
    // A choice the bytes do not depend on would "shrink" to the same input; against a crashing
    // target every accepted step costs a worker restart, so such candidates are skipped.
    return new fc.Stream(shrinkChoices(record))
      .map((values) => this.replay(values, small))
      .filter((c) => !sameBytes(c.value, value));
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

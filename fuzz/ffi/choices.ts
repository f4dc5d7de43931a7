/**
 * The choice sequence behind a hand-written input generator. A generator asks a {@link Choices}
 * for small integers (`below(n)`) and builds its input from them; the same generator runs in two
 * ways:
 *
 * - random: choices come from a per-input PRNG (mulberry32), a few nanoseconds each, nothing
 *   recorded. This is the worker's hot loop.
 * - replay: choices come from a recorded sequence (0 once it runs out). Used to rebuild an input
 *   after its sequence was shrunk.
 *
 * Either way the source can record what was drawn: each choice as its canonical value (`v < n`)
 * and the list items (spans of choices) the generator marks. Shrinking then works on the sequence,
 * not on the bytes (Hypothesis' "internal reduction"): drop list items, lower choices towards 0.
 * That keeps shrinking structure-aware for any generator, with no per-format shrinker.
 * @module
 */

/** What a recorded run drew. */
export interface ChoiceRecord {
  /** Canonical choice values, in draw order. */
  readonly values: Uint32Array;
  /** List items as triples `[start, end, countPos]`: choices `[start, end)` are one item of the list whose length choice sits at `countPos`. */
  readonly spans: Int32Array;
}

/** A source of choices; see the module comment. */
export class Choices {
  private state = 0;
  private replay: Uint32Array | undefined;
  private pos = 0;
  private values: number[] | undefined;
  private spans: number[] | undefined;

  /** Draws from a PRNG seeded with `seed` (an int32); records when `record`. */
  startRandom(seed: number, record: boolean): void {
    this.state = seed | 0;
    this.replay = undefined;
    this.begin(record);
  }

  /** Draws `values` in order, then zeros; records when `record`. */
  startReplay(values: Uint32Array, record: boolean): void {
    this.replay = values;
    this.begin(record);
  }

  /** The record of the current run (only after a start with `record`). */
  finish(): ChoiceRecord {
    if (this.values === undefined || this.spans === undefined) throw new Error('Choices.finish: this run was not recorded');
    return { values: Uint32Array.from(this.values), spans: Int32Array.from(this.spans) };
  }

  /** Number of choices drawn so far in this run: mark an item's start, or a list's count choice. */
  get position(): number {
    return this.pos;
  }

  /** An integer in `[0, n)`, `n` in 1..2^31 - 1. */
  below(n: number): number {
    let v: number;
    if (this.replay === undefined) {
      // Multiply-high instead of `%`: a division costs more than the rest of the draw. Exact for
      // any n: the product is rounded to nearest, and never up to n·2^32.
      v = ((this.mix() >>> 0) * n * 2.3283064365386963e-10) | 0;
    } else {
      v = this.pos < this.replay.length ? this.replay[this.pos]! % n : 0;
    }
    this.pos++;
    if (this.values !== undefined) this.values.push(v);
    return v;
  }

  /** A uniform u32. */
  u32(): number {
    const v = this.replay === undefined ? this.mix() >>> 0 : this.pos < this.replay.length ? this.replay[this.pos]! : 0;
    this.pos++;
    if (this.values !== undefined) this.values.push(v);
    return v;
  }

  /** mulberry32 (Tommy Ettinger): one add, two multiplies per draw; a fresh stream per input. */
  private mix(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return t ^ (t >>> 14);
  }

  /** Marks choices `[start, position)` as one item of the list whose length choice is at `countPos`. */
  item(start: number, countPos: number): void {
    if (this.spans !== undefined) this.spans.push(start, this.pos, countPos);
  }

  private begin(record: boolean): void {
    this.pos = 0;
    this.values = record ? [] : undefined;
    this.spans = record ? [] : undefined;
  }
}

/**
 * Shrink candidates of a recorded sequence, most aggressive first: for each list (in the order
 * of its length choice), drop aligned runs of items (halves, quarters… single items, from the
 * end), lowering the length choice to match; then lower each choice to 0, to half, and by one.
 * fast-check calls this again on every accepted candidate, so the order only decides which
 * simplification is tried first.
 */
export function* shrinkChoices(record: ChoiceRecord): Generator<Uint32Array> {
  const { values, spans } = record;
  const lists = new Map<number, [number, number][]>();
  for (let i = 0; i + 2 < spans.length; i += 3) {
    const countPos = spans[i + 2]!;
    if (!lists.has(countPos)) lists.set(countPos, []);
    lists.get(countPos)!.push([spans[i]!, spans[i + 1]!]);
  }
  for (const countPos of [...lists.keys()].sort((a, b) => a - b)) {
    const items = lists.get(countPos)!;
    // The length choice holds (length - minimum length): that many items may go.
    const removable = Math.min(items.length, values[countPos] ?? 0);
    for (let size = highestPowerOfTwo(removable); size >= 1; size >>= 1) {
      for (let start = items.length - size; start >= 0; start -= size) {
        yield without(values, items.slice(start, start + size), countPos, size);
      }
    }
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === 0) continue;
    for (const x of new Set([0, v >>> 1, v - 1])) {
      const c = values.slice();
      c[i] = x;
      yield c;
    }
  }
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n >= 1 ? p : 0;
}

/** `values` without the choices of `drop`, with the list length at `countPos` lowered by `n`. */
function without(values: Uint32Array, drop: readonly [number, number][], countPos: number, n: number): Uint32Array {
  const keep: number[] = [];
  let d = 0;
  for (let i = 0; i < values.length; i++) {
    while (d < drop.length && i >= drop[d]![1]) d++;
    if (d < drop.length && i >= drop[d]![0] && i < drop[d]![1]) continue;
    keep.push(i === countPos ? values[i]! - n : values[i]!);
  }
  return Uint32Array.from(keep);
}

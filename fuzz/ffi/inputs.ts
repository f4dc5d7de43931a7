/**
 * The two input spaces of `fuzz ffi`: `bytes` (structure-blind byte strings) and `structured`
 * (vhost-user message streams from the wire model). Each is a fast-check arbitrary of byte
 * strings plus the parameters that rebuild it, so a reproducer's `seed` + `path` + `params`
 * regenerate the exact input.
 *
 * Two generations of generators exist, told apart by `params.generator`:
 * - `choices-v1` (current): hand-written generators over a choice sequence (bytes-generator.ts,
 *   stream-generator.ts) wrapped in a {@link ChoiceArbitrary}, checked with the seekable
 *   {@link indexedRandom}, so the worker generates input `i` itself in O(1);
 * - `fast-check` (reproducers written before it; no `generator` field): the combinator arbitrary
 *   `messageStream` and {@link BytesArbitrary}, with fast-check's default random generator.
 * @module
 */
import fc from 'fast-check';
import { HEADER_SIZE, decodeHeader } from '../../fakes/wire/header.js';
import { describeMessage } from '../../fakes/wire/message.js';
import { requestName } from '../../fakes/wire/requests.js';
import { encodeStream, messageStream } from '../arbitraries/message-stream.js';
import type { ReproMessage } from '../replay/repro.js';
import { INTERESTING_U32, bytesGenerator } from './bytes-generator.js';
import { ChoiceArbitrary } from './choice-arbitrary.js';
import { RunRandom, biasFactorOf, indexedRandom, type IndexedRandom } from './indexed-random.js';
import { streamGenerator } from './stream-generator.js';

/** Input modes. */
export const InputMode = { BYTES: 'bytes', STRUCTURED: 'structured' } as const;
/** One of {@link InputMode}. */
export type InputModeValue = (typeof InputMode)[keyof typeof InputMode];

/** Generator generations, see the module comment. */
export const InputGenerator = { CHOICES: 'choices-v1', FAST_CHECK: 'fast-check' } as const;
/** One of {@link InputGenerator}. */
export type InputGeneratorValue = (typeof InputGenerator)[keyof typeof InputGenerator];

/** Generator parameters (stored in reproducers). */
export interface InputParams {
  readonly mode: InputModeValue;
  /** Which generator built the inputs. */
  readonly generator: InputGeneratorValue;
  /** bytes: most chunks per input; structured: most messages per stream. */
  readonly maxItems: number;
  /** structured: most memory regions in the layout. */
  readonly maxRegions: number;
}

/** An input space: the arbitrary and the parameters that rebuild it. */
export interface InputSpace {
  readonly params: InputParams;
  readonly arbitrary: fc.Arbitrary<Uint8Array>;
  /** The `randomType` every `fc.check` over `arbitrary` must use (absent: fast-check's default). */
  readonly randomType?: (seed: number) => IndexedRandom;
  /**
   * Present for `choices-v1` spaces: the worker's way to build run `i`'s input, as
   * `draw(runs.at(i), biasFactorOf(i))` with `runs = new RunRandom(seed)`; a view valid until the
   * next call. Equal to the value `fc.check({seed, path: String(i), randomType})` generates.
   */
  readonly draw?: (mrng: fc.Random, biasFactor: number) => Uint8Array;
}

/** Defaults per mode. */
export const DEFAULT_INPUT_PARAMS: Readonly<Record<InputModeValue, InputParams>> = {
  bytes: { mode: 'bytes', generator: 'choices-v1', maxItems: 64, maxRegions: 4 },
  structured: { mode: 'structured', generator: 'choices-v1', maxItems: 16, maxRegions: 4 },
};

/**
 * Structure-blind bytes of the `fast-check` generation (kept so old reproducers regenerate;
 * new runs use bytes-generator.ts, which draws the same distribution). Uniform random bytes almost never hit a 32-bit field's exact value, and
 * fast-check has no coverage feedback to climb towards one; so, like libFuzzer's value profile and
 * dictionaries, inputs are built from chunks that are mostly native-endian (little-endian here)
 * 32-bit words drawn from small and boundary values, mixed with single bytes, 64-bit words and
 * random runs. Nothing here knows vhost-user.
 *
 * A hand-written arbitrary rather than `fc.array(fc.oneof(…)).map(…)`: the combinator version
 * spends ~10 µs per input in fast-check's bookkeeping, this one well under 1 µs, and the parent's
 * generation rate is what bounds execs/s. Shrinking works on the bytes alone (no context), so
 * counterexamples given as plain byte arrays shrink too.
 */
export class BytesArbitrary extends fc.Arbitrary<Uint8Array> {
  /** @param maxChunks - most chunks per input (an input is at most 32 bytes per chunk). */
  constructor(private readonly maxChunks: number) {
    super();
    if (!Number.isInteger(maxChunks) || maxChunks < 0) throw new RangeError(`maxChunks must be an integer >= 0, got ${maxChunks}`);
  }

  override generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Uint8Array> {
    // Like fast-check's default `size: 'small'`: most inputs have up to 12 chunks, biased runs up
    // to 4, and one in 8 may use the whole `maxChunks`. Short inputs are faster to generate, to
    // run and to shrink.
    const small = biasFactor !== undefined && mrng.nextInt(1, biasFactor) === 1;
    const cap = small ? 4 : mrng.nextInt(0, 7) === 0 ? this.maxChunks : 12;
    const chunks = mrng.nextInt(0, Math.min(cap, this.maxChunks));
    const out = new Uint8Array(chunks * 32 + 4); // + 4: the last random run writes whole words
    const view = new DataView(out.buffer);
    let off = 0;
    // One 31-bit draw decides a chunk's kind and, for most chunks, its value too: every draw
    // through fast-check's Random costs about 0.1 µs, which adds up at 100k+ inputs per second.
    const u32 = (): number => (mrng.nextInt(0, 0x7fffffff) * 2 + (mrng.nextInt(0, 1) & 1)) >>> 0;
    for (let c = 0; c < chunks; c++) {
      const r = mrng.nextInt(0, 0x7fffffff);
      const kind = r & 15; // 0..12 word (8/11 of the weight in the combinator form), 13 byte, 14 u64, 15 run
      const rest = r >>> 4;
      if (kind <= 12) {
        const pick = rest % 9;
        const v = pick < 6 ? (rest >>> 4) % 65 : pick < 7 ? INTERESTING_U32[(rest >>> 4) % INTERESTING_U32.length]! : u32();
        view.setUint32(off, v >>> 0, true);
        off += 4;
      } else if (kind === 13) {
        out[off++] = rest & 0xff;
      } else if (kind === 14) {
        view.setUint32(off, u32(), true);
        view.setUint32(off + 4, u32(), true);
        off += 8;
      } else {
        const n = 1 + (rest % 32);
        for (let i = 0; i < n; i += 4) view.setUint32(off + i, u32(), true);
        off += n;
      }
    }
    return new fc.Value(out.slice(0, off), undefined);
  }

  override canShrinkWithoutContext(value: unknown): value is Uint8Array {
    return value instanceof Uint8Array && value.byteLength <= this.maxChunks * 32;
  }

  override shrink(value: Uint8Array): fc.Stream<fc.Value<Uint8Array>> {
    return new fc.Stream(shrinkBytes(value)).map((v) => new fc.Value(v, undefined));
  }
}

/**
 * Shrink candidates, most aggressive first: drop halves, quarters… down to single bytes (from the
 * end first, where trailing junk usually sits), then zero whole 32-bit words, then lower single
 * bytes towards 0. fast-check calls this again on every accepted candidate.
 */
function* shrinkBytes(v: Uint8Array): Generator<Uint8Array> {
  for (let size = v.byteLength >> 1; size >= 1; size >>= 1) {
    for (let start = v.byteLength - size; start >= 0; start -= size) {
      const c = new Uint8Array(v.byteLength - size);
      c.set(v.subarray(0, start));
      c.set(v.subarray(start + size), start);
      yield c;
    }
  }
  if (v.byteLength === 1) yield new Uint8Array(0);
  for (let i = 0; i + 4 <= v.byteLength; i += 4) {
    if (v[i] === 0 && v[i + 1] === 0 && v[i + 2] === 0 && v[i + 3] === 0) continue;
    const c = v.slice();
    c.fill(0, i, i + 4);
    yield c;
  }
  for (let i = 0; i < v.byteLength; i++) {
    if (v[i] === 0) continue;
    for (const x of new Set([0, v[i]! >> 1, v[i]! - 1])) {
      const c = v.slice();
      c[i] = x;
      yield c;
    }
  }
}

/** The bytes-mode arbitrary of the `fast-check` generation; see {@link BytesArbitrary}. */
export const bytesArbitrary = (maxChunks: number): fc.Arbitrary<Uint8Array> => new BytesArbitrary(maxChunks);

/** Parameters a caller may override (the generator is always the current one for new runs). */
export type InputOverrides = Partial<Omit<InputParams, 'mode' | 'generator'>>;

/** The input space for `params` (missing fields take the mode's defaults; current generator). */
export function inputSpace(mode: InputModeValue, overrides: InputOverrides = {}): InputSpace {
  return buildSpace({ ...DEFAULT_INPUT_PARAMS[mode], ...overrides, mode, generator: InputGenerator.CHOICES });
}

function buildSpace(params: InputParams): InputSpace {
  if (params.generator === InputGenerator.FAST_CHECK) {
    const arbitrary =
      params.mode === 'bytes'
        ? bytesArbitrary(params.maxItems)
        : messageStream({ maxMessages: params.maxItems, maxRegions: params.maxRegions }).map(encodeStream);
    return { params, arbitrary };
  }
  const generator =
    params.mode === 'bytes' ? bytesGenerator(params.maxItems) : streamGenerator({ maxMessages: params.maxItems, maxRegions: params.maxRegions });
  const arbitrary = new ChoiceArbitrary(generator);
  return { params, arbitrary, randomType: indexedRandom, draw: (mrng, biasFactor) => arbitrary.draw(mrng, biasFactor) };
}

/**
 * Input `index` of the search with `seed` over `space`: what the worker ran as that input, and
 * what `fc.check({seed, path: String(index)})` regenerates. Only for spaces with `draw`.
 */
export function inputAt(space: InputSpace, seed: number, index: number): Uint8Array {
  if (space.draw === undefined) throw new RangeError(`input space ${space.params.generator} cannot generate by index`);
  return space.draw(new RunRandom(seed).at(index), biasFactorOf(index)).slice();
}

/** Rebuilds an input space from reproducer params; throws RangeError on unknown values. */
export function inputSpaceFromParams(params: Readonly<Record<string, unknown>>): InputSpace {
  const mode = params.mode;
  if (mode !== 'bytes' && mode !== 'structured') throw new RangeError(`unknown input mode ${JSON.stringify(mode)}`);
  // Reproducers written before the generator was recorded came from the fast-check arbitraries.
  const generator = params.generator ?? InputGenerator.FAST_CHECK;
  if (generator !== InputGenerator.CHOICES && generator !== InputGenerator.FAST_CHECK) throw new RangeError(`unknown input generator ${JSON.stringify(generator)}`);
  const num = (k: string): number | undefined => (typeof params[k] === 'number' ? (params[k] as number) : undefined);
  return buildSpace({ ...DEFAULT_INPUT_PARAMS[mode], mode, generator, ...(num('maxItems') !== undefined ? { maxItems: num('maxItems')! } : {}), ...(num('maxRegions') !== undefined ? { maxRegions: num('maxRegions')! } : {}) });
}

/**
 * Reads bytes as a front-end message stream for people: one entry per complete frame, then one
 * for trailing bytes that do not make a frame. Never throws.
 */
export function describeStream(bytes: Uint8Array, maxMessages = 64): ReproMessage[] {
  const out: ReproMessage[] = [];
  let off = 0;
  while (bytes.byteLength - off >= HEADER_SIZE && out.length < maxMessages) {
    const h = decodeHeader(bytes, off);
    const available = bytes.byteLength - off - HEADER_SIZE;
    const body = bytes.slice(off + HEADER_SIZE, off + HEADER_SIZE + Math.min(h.size, available));
    const detail = describeMessage({ ...h, body, fds: [] });
    out.push({ request: requestName(h.request), code: h.request, flags: h.flags, size: h.size, detail: h.size > available ? `${detail} (truncated: ${available} of ${h.size} bytes)` : detail });
    if (h.size > available) return out;
    off += HEADER_SIZE + h.size;
  }
  if (off < bytes.byteLength && out.length < maxMessages) {
    out.push({ request: '(trailing bytes)', code: 0, flags: 0, size: bytes.byteLength - off, detail: `${bytes.byteLength - off} bytes, not a whole header` });
  }
  return out;
}

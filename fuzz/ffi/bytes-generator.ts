/**
 * Structure-blind byte strings for `fuzz ffi --input bytes`, as a {@link ChoiceGenerator}. The
 * distribution is the one of the original fast-check arbitrary (`BytesArbitrary` in inputs.ts):
 * an input is a list of chunks, mostly little-endian 32-bit words drawn from small (0..64) and
 * boundary values, mixed with single bytes, 64-bit words and random runs; most inputs have up to
 * 12 chunks, biased runs up to 4, one in 8 up to `maxChunks`. Uniform random bytes almost never
 * hit a 32-bit field's exact value, and there is no coverage feedback to climb towards one.
 * Nothing here knows vhost-user.
 * @module
 */
import type { ChoiceGenerator } from './choice-arbitrary.js';
import type { Choices } from './choices.js';

/** libFuzzer-style "interesting" 32-bit values: boundaries of the common integer widths. */
export const INTERESTING_U32: readonly number[] = [0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** Largest chunk: a run of 32 bytes. */
const MAX_CHUNK = 32;

/** The bytes generator for inputs of at most `maxChunks` chunks (32 bytes each at most). */
export function bytesGenerator(maxChunks: number): ChoiceGenerator {
  if (!Number.isInteger(maxChunks) || maxChunks < 0) throw new RangeError(`maxChunks must be an integer >= 0, got ${maxChunks}`);
  // + 4: a random run writes whole words past its end; the next chunk overwrites them.
  const scratch = new Uint8Array(maxChunks * MAX_CHUNK + 4);
  const view = new DataView(scratch.buffer);
  return (src: Choices, small: boolean): Uint8Array => {
    const cap = Math.min(maxChunks, small ? 4 : src.below(8) === 0 ? maxChunks : 12);
    const countPos = src.position;
    const chunks = src.below(cap + 1);
    let off = 0;
    for (let c = 0; c < chunks; c++) {
      const start = src.position;
      // Kinds 0..12 are words (13 of 16, like the weights of the combinator form), then byte, u64, run.
      const kind = src.below(16);
      if (kind <= 12) {
        const pick = src.below(9);
        const v = pick < 6 ? src.below(65) : pick < 7 ? INTERESTING_U32[src.below(INTERESTING_U32.length)]! : src.u32();
        view.setUint32(off, v, true);
        off += 4;
      } else if (kind === 13) {
        scratch[off++] = src.below(256);
      } else if (kind === 14) {
        view.setUint32(off, src.u32(), true);
        view.setUint32(off + 4, src.u32(), true);
        off += 8;
      } else {
        const n = 1 + src.below(MAX_CHUNK);
        for (let i = 0; i < n; i += 4) view.setUint32(off + i, src.u32(), true);
        off += n;
      }
      src.item(start, countPos);
    }
    return scratch.subarray(0, off);
  };
}

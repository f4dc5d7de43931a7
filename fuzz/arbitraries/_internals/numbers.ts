/**
 * Small shared arbitraries and argument checks of the fuzz arbitraries (STYLE §29: internals kept
 * apart from the public factories). Values lean on the edges where parsers break: 0, 1, powers of
 * two, the top of each integer width, and values just past a limit.
 * @module
 */
import fc from 'fast-check';

/** Largest u64. */
export const U64_MAX = (1n << 64n) - 1n;

/** Any u64. */
export const anyU64: fc.Arbitrary<bigint> = fc.bigInt({ min: 0n, max: U64_MAX });

/** Any u32. */
export const anyU32: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffff_ffff });

/** u64 values where arithmetic on addresses and sizes wraps or overflows. */
export const edgeU64: fc.Arbitrary<bigint> = fc.constantFrom(
  0n, 1n, 0xfffn, 0x1000n, 0xffff_ffffn, 1n << 32n, 1n << 48n, 1n << 53n, 1n << 63n, U64_MAX - 0xfffn, U64_MAX,
);

/** u32 values at the edges of u16/u32 arithmetic. */
export const edgeU32: fc.Arbitrary<number> = fc.constantFrom(0, 1, 0xff, 0x100, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff);

/** `weight` parts `valid`, 1 part `invalid`: the usual mix of the fuzzers. */
export function mostly<T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>, weight: number): fc.Arbitrary<T> {
  return weight === 0 ? invalid : fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}

/** Throws a RangeError naming `name` unless `v` is an integer in `min..max` (eager argument check). */
export function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
}

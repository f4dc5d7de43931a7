/**
 * Header flags words (vhost-user.rst "Header"; CHECKLIST §1.1): the valid request forms (version 1,
 * with or without NEED_REPLY) and the subtly invalid ones a parser must survive — version 0, 2 or
 * 3, the REPLY bit on a request, reserved bits 4–31.
 * @module
 */
import fc from 'fast-check';
import { HEADER_RESERVED_FLAGS_MASK, HeaderFlag } from '../../fakes/wire/header.js';
import { anyU32 } from './_internals/numbers.js';

/** Options of {@link invalidFlags}. */
export interface InvalidFlagsConstraints {
  /** Also draw any u32 at all (default true). */
  readonly anyWord?: boolean;
}

/** A request flags word that is valid: version 1, NEED_REPLY as given. */
export const requestFlags = (needReply: boolean): number => HeaderFlag.VERSION | (needReply ? HeaderFlag.NEED_REPLY : 0);

/**
 * A flags word no front-end may send on a request: wrong version, REPLY set, or reserved bits set.
 * Every value it yields differs from both valid forms.
 */
export function invalidFlags(constraints: InvalidFlagsConstraints = {}): fc.Arbitrary<number> {
  const base = fc.constantFrom(HeaderFlag.VERSION, HeaderFlag.VERSION | HeaderFlag.NEED_REPLY);
  const parts: fc.Arbitrary<number>[] = [
    fc.tuple(base, fc.constantFrom(0, 2, 3)).map(([b, v]) => ((b & ~HeaderFlag.VERSION_MASK) | v) >>> 0),
    base.map((b) => (b | HeaderFlag.REPLY) >>> 0),
    fc.tuple(base, fc.integer({ min: 4, max: 31 })).map(([b, bit]) => (b | (1 << bit)) >>> 0),
  ];
  if (constraints.anyWord ?? true) {
    parts.push(anyU32.filter((w) => (w & HeaderFlag.VERSION_MASK) !== HeaderFlag.VERSION || (w & HeaderFlag.REPLY) !== 0 || ((w & HEADER_RESERVED_FLAGS_MASK) >>> 0) !== 0));
  }
  return fc.oneof(...parts);
}

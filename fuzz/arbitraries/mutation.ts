/**
 * Ways to make a well-formed message subtly invalid (CHECKLIST §1, VU-MSG-*): a header `size`
 * that lies, a body cut short or padded (with a consistent size), a bad flags word, and too many
 * or too few fds. Mutations are plain data applied to an encoded message, so one arbitrary covers
 * every request of the table and a shrunk mutation still names the trick.
 * @module
 */
import fc from 'fast-check';
import { HEADER_SIZE, encodeHeader } from '../../fakes/wire/header.js';
import { MAX_FDS } from '../../fakes/wire/requests.js';
import { invalidFlags } from './header.js';
import { checkInt } from './_internals/numbers.js';

/** A mutation of one message. */
export type Mutation =
  | { readonly kind: 'none' }
  /** Header `size` = body length + `delta` (the body is sent unchanged). */
  | { readonly kind: 'size-lie'; readonly delta: number }
  /** Body cut to `keep` bytes, header size consistent (too short for the family). */
  | { readonly kind: 'truncate'; readonly keep: number }
  /** `extra` zero bytes appended, header size consistent (too long for fixed-size families). */
  | { readonly kind: 'extend'; readonly extra: number }
  /** The flags word replaced by an invalid one. */
  | { readonly kind: 'flags'; readonly flags: number }
  /** `delta` fds more (eventfds) or fewer than the request needs. */
  | { readonly kind: 'fds'; readonly delta: number };

/** Options of {@link mutation}. */
export interface MutationConstraints {
  /** Unmutated draws per mutated draw (default 8; 0 = always mutate). */
  readonly noneWeight?: number;
  /** Allow size lies larger than the body (the back-end then waits for bytes that never come; default true). */
  readonly growingSizeLies?: boolean;
}

/** A mutation (mostly `none`). */
export function mutation(constraints: MutationConstraints = {}): fc.Arbitrary<Mutation> {
  const w = constraints.noneWeight ?? 8;
  checkInt('noneWeight', w, 0, 1000);
  const lie = constraints.growingSizeLies ?? true
    ? fc.oneof(fc.integer({ min: -64, max: 64 }).filter((d) => d !== 0), fc.constantFrom(0x1000, 0x10000, 0x7fff_ffff, -0x7fff_ffff))
    : fc.integer({ min: -64, max: -1 });
  const bad: fc.Arbitrary<Mutation>[] = [
    lie.map((delta) => ({ kind: 'size-lie', delta }) as const),
    fc.nat(63).map((keep) => ({ kind: 'truncate', keep }) as const),
    fc.integer({ min: 1, max: 64 }).map((extra) => ({ kind: 'extend', extra }) as const),
    invalidFlags().map((flags) => ({ kind: 'flags', flags }) as const),
    fc.integer({ min: -2, max: MAX_FDS + 1 }).filter((d) => d !== 0).map((delta) => ({ kind: 'fds', delta }) as const),
  ];
  const mutated = fc.oneof(...bad);
  return w === 0 ? mutated : fc.oneof({ weight: w, arbitrary: fc.constant({ kind: 'none' } as const) }, { weight: 1, arbitrary: mutated });
}

/** Short human form: `size-lie+8`, `flags=0x15`, `fds-1`, `` for none. */
export function describeMutation(m: Mutation): string {
  switch (m.kind) {
    case 'none': return '';
    case 'size-lie': return `size-lie${m.delta > 0 ? '+' : ''}${m.delta}`;
    case 'truncate': return `truncate=${m.keep}`;
    case 'extend': return `extend+${m.extra}`;
    case 'flags': return `flags=0x${(m.flags >>> 0).toString(16)}`;
    case 'fds': return `fds${m.delta > 0 ? '+' : ''}${m.delta}`;
  }
}

/** A message before mutation: header fields and body. */
export interface PlainMessage {
  readonly request: number;
  readonly flags: number;
  readonly body: Uint8Array;
  readonly fdCount: number;
}

/** The wire bytes and fd count after applying `m` to `msg`. */
export function applyMutation(msg: PlainMessage, m: Mutation): { bytes: Uint8Array; fdCount: number } {
  let body = msg.body;
  let size = body.byteLength;
  let flags = msg.flags;
  let fdCount = msg.fdCount;
  switch (m.kind) {
    case 'size-lie':
      size = Math.max(0, Math.min(0xffff_ffff, size + m.delta));
      break;
    case 'truncate':
      body = body.subarray(0, Math.min(m.keep, body.byteLength));
      size = body.byteLength;
      break;
    case 'extend': {
      const b = new Uint8Array(body.byteLength + m.extra);
      b.set(body);
      body = b;
      size = b.byteLength;
      break;
    }
    case 'flags':
      flags = m.flags >>> 0;
      break;
    case 'fds':
      fdCount = Math.max(0, Math.min(MAX_FDS, fdCount + m.delta));
      break;
    case 'none':
      break;
  }
  const bytes = new Uint8Array(HEADER_SIZE + body.byteLength);
  encodeHeader({ request: msg.request, flags, size }, bytes);
  bytes.set(body, HEADER_SIZE);
  return { bytes, fdCount };
}

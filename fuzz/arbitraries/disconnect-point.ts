/**
 * Disconnect points (CHECKLIST §5.9, VU-RECON-*): where in a message sequence a connection dies —
 * between two messages, or inside one at any byte (after the header, in the middle of a body,
 * one byte short). Plain data, resolved against the actual message lengths, so one arbitrary
 * serves every sequence and shrinks towards "before the first message".
 * @module
 */
import fc from 'fast-check';
import { checkInt } from './_internals/numbers.js';

/** A disconnect point. */
export type DisconnectPoint =
  /** After `after` whole messages (0 = before the first). */
  | { readonly kind: 'between'; readonly after: number }
  /** Inside message `message`, after `fraction` of its bytes (0 ≤ fraction < 1). */
  | { readonly kind: 'inside'; readonly message: number; readonly fraction: number };

/** Options of {@link disconnectPoint}. */
export interface DisconnectPointConstraints {
  /** Messages in the sequence the point refers to (default 16). */
  readonly maxMessages?: number;
}

/** A disconnect point in a sequence of up to `maxMessages` messages. */
export function disconnectPoint(constraints: DisconnectPointConstraints = {}): fc.Arbitrary<DisconnectPoint> {
  const n = constraints.maxMessages ?? 16;
  checkInt('maxMessages', n, 1, 100_000);
  return fc.oneof(
    fc.record({ kind: fc.constant('between' as const), after: fc.nat(n) }),
    fc.record({
      kind: fc.constant('inside' as const), message: fc.nat(n - 1),
      fraction: fc.oneof(fc.constantFrom(0, 0.5), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
    }),
  );
}

/**
 * Resolves `p` against message lengths: `{message, byte}` — send messages before `message` whole,
 * then `byte` bytes of it (`byte` 0 with `message` = lengths.length means "after everything").
 */
export function resolveDisconnect(p: DisconnectPoint, lengths: readonly number[]): { message: number; byte: number } {
  if (p.kind === 'between' || lengths.length === 0) return { message: Math.min(p.kind === 'between' ? p.after : 0, lengths.length), byte: 0 };
  const m = p.message % lengths.length;
  return { message: m, byte: Math.min(lengths[m] - 1, Math.floor(p.fraction * lengths[m])) };
}

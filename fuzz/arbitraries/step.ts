/**
 * A fuzz step: one message exactly as it goes on the wire, plus the fds to attach, whether a reply
 * is owed, and an optional cut point. Commands produce steps, the live executors
 * (fuzz/protocol) send them, and reproducers record them, so a replay sends the same bytes.
 * Plain data: fds are described, not held (each run creates fresh ones).
 * @module
 */

/** An fd to create and attach. */
export type FdSpec =
  | { readonly kind: 'eventfd' }
  /** A memfd of `size` bytes (guest memory for SET_MEM_TABLE / ADD_MEM_REG / inflight / log). */
  | { readonly kind: 'memfd'; readonly size: number };

/**
 * Whether the back-end owes a reply: `expect` (the protocol says so: silence is a hang), `none`
 * (no reply is defined), `maybe` (a malformed or out-of-order message: reply, silence or close
 * are all acceptable, but the stream may be out of step from here on).
 */
export type ReplyExpectation = 'expect' | 'none' | 'maybe';

/** One step of a fuzz sequence. */
export interface FuzzStep {
  /** What the step is, for people: spec name plus mutation, e.g. `SET_VRING_NUM size-lie+8`. */
  readonly label: string;
  /** Request code (the reply to wait for echoes it). */
  readonly request: number;
  /** Header and body exactly as sent. */
  readonly bytes: Uint8Array;
  /** fds attached to the first byte. */
  readonly fds: readonly FdSpec[];
  /** Reply owed. */
  readonly reply: ReplyExpectation;
  /** Send only the first `cutAt` bytes, then close the connection (a disconnect inside a message). */
  readonly cutAt?: number;
}

/**
 * The four-way result of a message handler (STYLE §10, after DPDK's `RTE_VHOST_MSG_RESULT_*`):
 * `ok` (done; the dispatcher acks 0 if an ack is owed), `reply` (a body and maybe fds for a
 * request that always replies), `error` (refused; the dispatcher acks non-zero, sends the error
 * form of an always-reply, or closes) and `notHandled` (this back-end does not implement the
 * request; treated like an error). Handlers never see header flags.
 * @module
 */

/** Success; an ack of 0 follows when REPLY_ACK + NEED_REPLY ask for one. */
export interface OkResult {
  readonly kind: 'ok';
}

/** A reply body (and fds, OWNERSHIP: the dispatcher sends then closes them). */
export interface ReplyResult {
  readonly kind: 'reply';
  readonly body: Uint8Array;
  readonly fds: readonly number[];
}

/** The request was refused. */
export interface ErrorResult {
  readonly kind: 'error';
  /** Why, for the log and for conformance evidence. */
  readonly reason: string;
  /** The CHECKLIST requirement the front-end broke, when one applies. */
  readonly rule?: string;
  /** Close the connection instead of answering (no way to report the failure). */
  readonly close?: boolean;
  /** For always-reply requests with an error form (GET_CONFIG: empty body). */
  readonly errorBody?: Uint8Array;
}

/** The back-end does not implement this request. */
export interface NotHandledResult {
  readonly kind: 'notHandled';
}

/** What a handler returns. */
export type HandlerResult = OkResult | ReplyResult | ErrorResult | NotHandledResult;

const OK: OkResult = Object.freeze({ kind: 'ok' });
const NOT_HANDLED: NotHandledResult = Object.freeze({ kind: 'notHandled' });

/** The `ok` result. */
export const ok = (): OkResult => OK;
/** A `reply` result. */
export const reply = (body: Uint8Array, fds: readonly number[] = []): ReplyResult => ({ kind: 'reply', body, fds });
/** An `error` result. */
export const fail = (reason: string, extra: Omit<ErrorResult, 'kind' | 'reason'> = {}): ErrorResult => ({ kind: 'error', reason, ...extra });
/** The `notHandled` result. */
export const notHandled = (): NotHandledResult => NOT_HANDLED;

/**
 * Shared verifiers (STYLE §21): each compares an observation with what the spec allows and
 * returns {@link Check} — the alternatives it would have accepted and what actually happened —
 * never a bare boolean, so every failure text says expected vs actual.
 * @module
 */
import type { FrontendSession } from '../../fakes/frontend/index.js';
import { FrontendRequest, REPLY_FLAGS, requestName } from '../../fakes/wire/index.js';
import type { Observation, Verdict } from '../model.js';
import { describeObservation, observeNext, replyU64 } from './observe.js';

/** The outcome of one verifier. */
export interface Check {
  readonly ok: boolean;
  /** What the verifier would have accepted (one line per alternative). */
  readonly expected: string[];
  /** What the peer did. */
  readonly actual: string;
}

/** A check that passed or failed with the given texts. */
export function check(ok: boolean, expected: string[], actual: string): Check {
  return { ok, expected, actual };
}

/** A reply to `request` with flags exactly 0x5 and, when given, `size` bytes (VU-MSG-001/002/003). */
export function verifyReply(o: Observation, request: number, size?: number): Check {
  const name = requestName(request);
  const expected = [`a reply to ${name} (request ${request}) with flags 0x${REPLY_FLAGS.toString(16)}${size !== undefined ? ` and size ${size}` : ''}`];
  if (o.kind !== 'reply') return check(false, expected, describeObservation(o));
  const problems: string[] = [];
  if (o.flags !== REPLY_FLAGS) problems.push(`flags 0x${o.flags.toString(16)}`);
  if (o.request !== request) problems.push(`request ${o.request} (${requestName(o.request)})`);
  if (size !== undefined && o.size !== size) problems.push(`size ${o.size}`);
  return check(problems.length === 0, expected, problems.length === 0 ? describeObservation(o) : `a reply with ${problems.join(', ')}: ${describeObservation(o)}`);
}

/** A REPLY_ACK for `request` with status 0. */
export function verifyAckZero(o: Observation, request: number): Check {
  const expected = [`a REPLY_ACK for ${requestName(request)} with status 0`];
  const r = verifyReply(o, request, 8);
  if (!r.ok) return check(false, expected, r.actual);
  const status = replyU64(o);
  return check(status === 0n, expected, `ack with status ${status}`);
}

/**
 * The request was refused: a REPLY_ACK with a non-zero status, or the connection closed
 * (CHECKLIST D15: no error codes are defined; libvhost-user and DPDK close). A hang or a zero
 * ack is a failure.
 */
export function verifyRejected(o: Observation, request: number, why: string): Check {
  const name = requestName(request);
  const expected = [`a non-zero REPLY_ACK for ${name} (${why})`, 'the back-end closes the connection'];
  if (o.kind === 'closed') return check(true, expected, describeObservation(o));
  if (o.kind === 'reply' && o.request === request && o.flags === REPLY_FLAGS && o.size === 8) {
    const status = replyU64(o)!;
    return check(status !== 0n, expected, `ack with status ${status}`);
  }
  return check(false, expected, describeObservation(o));
}

/**
 * The request was refused or the back-end dropped it silently and stays usable: used where the
 * spec allows a back-end without REPLY_ACK in force to ignore a bad message. Nothing may arrive
 * within the quiet window except an error ack.
 */
export function verifyRejectedOrIgnored(o: Observation, request: number, why: string): Check {
  if (o.kind === 'timeout') return check(true, [`no reply to ${requestName(request)} (${why})`], describeObservation(o));
  return verifyRejected(o, request, why);
}

/**
 * The session is still served after a problem (VU-MSG-012): GET_FEATURES gets its reply, or the
 * back-end closed cleanly. A hang fails.
 */
export async function verifyStillServing(session: FrontendSession, waitMs: number): Promise<Check> {
  const expected = ['a reply to GET_FEATURES', 'a clean close of the connection'];
  if (session.connection.isBroken) return check(true, expected, 'the connection was already closed by the back-end');
  try {
    session.sendRaw({ request: FrontendRequest.GET_FEATURES, flags: 1, size: 0, body: new Uint8Array(0), fds: [] });
  } catch {
    return check(true, expected, 'the back-end had closed the connection');
  }
  const o = await observeNext(session, waitMs, { awaiting: FrontendRequest.GET_FEATURES });
  if (o.kind === 'closed') return check(true, expected, describeObservation(o));
  const r = verifyReply(o, FrontendRequest.GET_FEATURES, 8);
  return check(r.ok, expected, r.actual);
}

/** The first failed check as a fail verdict, or a pass. `detail` goes into the report either way. */
export function verdictOf(checks: readonly Check[], detail?: string): Verdict {
  const failed = checks.find((c) => !c.ok);
  if (failed) return { status: 'fail', expected: failed.expected, actual: failed.actual, ...(detail ? { detail } : {}) };
  return { status: 'pass', ...(detail ? { detail } : {}) };
}

/** A fail verdict from a check, with a prefix saying which step it was. */
export function failAt(step: string, c: Check): Verdict {
  return { status: 'fail', expected: c.expected, actual: `${step}: ${c.actual}` };
}

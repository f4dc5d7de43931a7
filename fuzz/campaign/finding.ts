/**
 * A finding of a live fuzzer: what went wrong (`kind`) and a one-line summary. Thrown from inside
 * a fast-check property so the run fails and shrinks; the campaign keeps the last one.
 * @module
 */
import { VhostUserError } from '../../fakes/wire/errors.js';
import { FuzzErrorCode } from '../peer/fuzz-peer.js';

/** What a finding is. */
export const FindingKind = {
  /** The peer process exited or was killed by a signal. */
  CRASH: 'crash',
  /** No reply and no close within the time-out for a message that must reply, or a fresh connection not served. */
  HANG: 'hang',
  /** The peer's open fds grew across a run. */
  FD_LEAK: 'fd-leak',
  /** A fresh session could not start, or traffic did not flow, after the run. */
  LIVENESS: 'liveness',
  /** Descriptors lost or completed twice across a reconnect, or the session did not come back. */
  STATE_LOSS: 'state-loss',
  /** A frame arrived corrupted or in the wrong memory, or a canary changed. */
  CORRUPTION: 'corruption',
} as const;
/** One of {@link FindingKind}. */
export type FindingKind = (typeof FindingKind)[keyof typeof FindingKind];

/** A finding. */
export class Finding extends VhostUserError {
  override readonly name = 'Finding';
  constructor(readonly kind: FindingKind, readonly summary: string, readonly detail: string[] = []) {
    super(FuzzErrorCode.FINDING, `${kind}: ${summary}`);
  }
}

/** True when `e` is a {@link Finding}. */
export const isFinding = (e: unknown): e is Finding => e instanceof Finding;

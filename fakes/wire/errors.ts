/**
 * Typed errors of the vhost-user model (STYLE §36). Every error carries a stable `code`
 * (`VHU_ERR_*`) and the offending data, so conformance evidence and fuzz reproducers can say
 * *what* was wrong without parsing messages. Decoders throw only {@link ProtocolError}
 * subclasses; transport and session code throw {@link PeerDisconnectedError} /
 * {@link TimeoutError}. Other folders may subclass {@link VhostUserError} with their own codes.
 * @module
 */

/** Stable error codes defined by the wire model. Other folders may add their own `VHU_ERR_*`. */
export const VhostUserErrorCode = {
  UNKNOWN: 'VHU_ERR_UNKNOWN',
  PROTOCOL: 'VHU_ERR_PROTOCOL',
  MALFORMED: 'VHU_ERR_MALFORMED',
  UNEXPECTED_FDS: 'VHU_ERR_UNEXPECTED_FDS',
  INACTIVE_FEATURE: 'VHU_ERR_INACTIVE_FEATURE',
  PEER_DISCONNECTED: 'VHU_ERR_PEER_DISCONNECTED',
  TIMEOUT: 'VHU_ERR_TIMEOUT',
  UNEXPECTED_REPLY: 'VHU_ERR_UNEXPECTED_REPLY',
} as const;

/** Any `VHU_ERR_*` code; the known ones are listed in {@link VhostUserErrorCode}. */
export type VhostUserErrorCodeValue = `VHU_ERR_${string}`;

/** Options shared by every error constructor. */
export interface VhostUserErrorOptions {
  /** The underlying error, if this one wraps another. */
  readonly cause?: unknown;
  /**
   * Extra human context appended to a subclass's standard message (`…: detail`), e.g.
   * `receive failed: ECONNRESET`. Not machine-readable: the typed fields are.
   */
  readonly detail?: string;
}

/** `base` plus `: detail` when a detail is given. */
const withDetail = (base: string, options?: VhostUserErrorOptions): string =>
  options?.detail === undefined || options.detail === '' ? base : `${base}: ${options.detail}`;

/** Base of every error the project throws about vhost-user; `code` is stable across releases. */
export class VhostUserError extends Error {
  override readonly name: string = 'VhostUserError';
  /** Stable machine-readable code, e.g. `VHU_ERR_MALFORMED`. */
  readonly code: VhostUserErrorCodeValue;

  /** @param code - stable code; @param message - human text; @param options - optional cause. */
  constructor(code: VhostUserErrorCodeValue, message: string, options?: VhostUserErrorOptions) {
    // `cause` goes through the standard ErrorOptions so stack printers show the chain.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /**
   * Turns anything caught into a VhostUserError: returns it unchanged when it already is one,
   * otherwise wraps it (code `VHU_ERR_UNKNOWN`, the original as `cause`).
   */
  static from(err: unknown): VhostUserError {
    if (err instanceof VhostUserError) return err;
    if (err instanceof Error) return new VhostUserError(VhostUserErrorCode.UNKNOWN, err.message, { cause: err });
    return new VhostUserError(VhostUserErrorCode.UNKNOWN, `non-error thrown: ${safeString(err)}`, { cause: err });
  }
}

/** Base of errors about what is on the wire (decode problems, fd rules, feature gates, replies). */
export class ProtocolError extends VhostUserError {
  override readonly name: string = 'ProtocolError';
}

/** A message or payload cannot be decoded: wrong size, impossible field, truncated bytes. */
export class MalformedMessageError extends ProtocolError {
  override readonly name: string = 'MalformedMessageError';
  /** Why the bytes are malformed, e.g. `vring-state: expected 8 bytes, got 4`. */
  readonly reason: string;
  /** The offending bytes, when available (not copied: do not mutate). */
  readonly raw?: Uint8Array;

  /** @param reason - why; @param options - the offending bytes, cause, detail. */
  constructor(reason: string, options: VhostUserErrorOptions & { readonly raw?: Uint8Array } = {}) {
    super(VhostUserErrorCode.MALFORMED, withDetail(`malformed message: ${reason}`, options), options);
    this.reason = reason;
    if (options.raw !== undefined) this.raw = options.raw;
  }
}

/** A message carried a number of fds its request does not allow. */
export class UnexpectedFdsError extends ProtocolError {
  override readonly name: string = 'UnexpectedFdsError';
  /** Spec name of the request, e.g. `SET_VRING_KICK`. */
  readonly request: string;
  /** What the fd rule allows, e.g. `1` or `0 (NOFD bit set)` or `nregions = 2`. */
  readonly expected: string;
  /** How many fds arrived. */
  readonly got: number;

  /** @param request - spec name; @param expected - allowed count as text; @param got - actual count. */
  constructor(request: string, expected: string, got: number, options?: VhostUserErrorOptions) {
    super(VhostUserErrorCode.UNEXPECTED_FDS, withDetail(`${request}: expected ${expected} fd(s), got ${got}`, options), options);
    this.request = request;
    this.expected = expected;
    this.got = got;
  }
}

/** A request needs a feature or protocol feature that was not negotiated. */
export class InactiveFeatureError extends ProtocolError {
  override readonly name: string = 'InactiveFeatureError';
  /** The missing feature's name, e.g. `REPLY_ACK` or `PROTOCOL_FEATURES`. */
  readonly feature: string;
  /** The request that needed it, when known. */
  readonly request?: string;

  /** @param feature - missing feature name; @param request - the request that needed it. */
  constructor(feature: string, request?: string, options?: VhostUserErrorOptions) {
    super(
      VhostUserErrorCode.INACTIVE_FEATURE,
      withDetail(request === undefined ? `feature ${feature} not negotiated` : `${request} needs ${feature}, not negotiated`, options),
      options,
    );
    this.feature = feature;
    if (request !== undefined) this.request = request;
  }
}

/** The peer answered with something other than the reply we waited for. */
export class UnexpectedReplyError extends ProtocolError {
  override readonly name: string = 'UnexpectedReplyError';
  /** The request whose reply was awaited. */
  readonly request: string;
  /** What would have been acceptable (STYLE §21 verifier shape). */
  readonly expected: string[];
  /** What arrived, as a short description. */
  readonly actual: string;

  /** @param request - awaited request; @param expected - acceptable forms; @param actual - what came. */
  constructor(request: string, expected: string[], actual: string, options?: VhostUserErrorOptions) {
    super(
      VhostUserErrorCode.UNEXPECTED_REPLY,
      withDetail(`${request}: expected ${expected.join(' | ')}, got ${actual}`, options),
      options,
    );
    this.request = request;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The peer closed the connection (EOF, ECONNRESET, EPIPE), optionally while a request was pending. */
export class PeerDisconnectedError extends VhostUserError {
  override readonly name: string = 'PeerDisconnectedError';
  /** The request in flight when the peer went away, if any. */
  readonly request?: string;

  /**
   * @param message - what happened; default `peer disconnected[ while waiting for X]`.
   * @param options - the request in flight, cause, detail.
   */
  constructor(message?: string, options: VhostUserErrorOptions & { readonly request?: string } = {}) {
    const { request } = options;
    super(
      VhostUserErrorCode.PEER_DISCONNECTED,
      withDetail(message ?? (request === undefined ? 'peer disconnected' : `peer disconnected while waiting for ${request}`), options),
      options,
    );
    if (request !== undefined) this.request = request;
  }
}

/** A bounded wait on the peer expired. */
export class TimeoutError extends VhostUserError {
  override readonly name: string = 'TimeoutError';
  /** The request being waited on, if any. */
  readonly request?: string;
  /** The bound that expired, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param message - what was awaited; default `[X: ]no reply within N ms`.
   * @param options - the expired bound (required), the awaited request, cause, detail.
   */
  constructor(message: string | undefined, options: VhostUserErrorOptions & { readonly timeoutMs: number; readonly request?: string }) {
    const { request, timeoutMs } = options;
    super(
      VhostUserErrorCode.TIMEOUT,
      withDetail(message ?? (request === undefined ? `timed out after ${timeoutMs} ms` : `${request}: no reply within ${timeoutMs} ms`), options),
      options,
    );
    this.timeoutMs = timeoutMs;
    if (request !== undefined) this.request = request;
  }
}

/** True for any {@link VhostUserError}. */
export const isVhostUserError = (e: unknown): e is VhostUserError => e instanceof VhostUserError;
/** True for any {@link ProtocolError}. */
export const isProtocolError = (e: unknown): e is ProtocolError => e instanceof ProtocolError;
/** True for {@link MalformedMessageError}. */
export const isMalformedMessageError = (e: unknown): e is MalformedMessageError => e instanceof MalformedMessageError;
/** True for {@link UnexpectedFdsError}. */
export const isUnexpectedFdsError = (e: unknown): e is UnexpectedFdsError => e instanceof UnexpectedFdsError;
/** True for {@link InactiveFeatureError}. */
export const isInactiveFeatureError = (e: unknown): e is InactiveFeatureError => e instanceof InactiveFeatureError;
/** True for {@link UnexpectedReplyError}. */
export const isUnexpectedReplyError = (e: unknown): e is UnexpectedReplyError => e instanceof UnexpectedReplyError;
/** True for {@link PeerDisconnectedError}. */
export const isPeerDisconnectedError = (e: unknown): e is PeerDisconnectedError => e instanceof PeerDisconnectedError;
/** True for {@link TimeoutError}. */
export const isTimeoutError = (e: unknown): e is TimeoutError => e instanceof TimeoutError;

function safeString(v: unknown): string {
  try {
    return typeof v === 'bigint' ? `${v}n` : String(v);
  } catch {
    return '<unprintable>';
  }
}

/**
 * Two levels of message (STYLE §4). {@link RawMessage} can hold anything — a `size` that lies
 * about the body, reserved flag bits, stray fds — and is what the transport sends and receives,
 * so conformance cases and fuzzers can put malformed input on the wire on purpose.
 * {@link TypedMessage} is a discriminated union on `kind` and `request` with a typed payload,
 * derived from the request table; {@link decodeMessage} turns a raw message into one, checking
 * syntax only (no session state, STYLE §6).
 * @module
 */
import {
  HEADER_SIZE,
  HeaderFlag,
  REPLY_FLAGS,
  decodeHeader,
  encodeHeader,
  isReply,
  makeFlags,
  needsReply,
} from './header.js';
import { MalformedMessageError } from './errors.js';
import type { PayloadRef, RequestEntry, RequestName, RequestSpec } from './requests.js';
import { ACK_PAYLOAD, Direction, requestName, requestSpec, requestSpecByName } from './requests.js';
import type { PayloadCodec } from './payloads/codec.js';

/** A message as it is on the wire: header fields, body bytes and attached fds, unchecked. */
export interface RawMessage {
  /** Request code (u32). */
  request: number;
  /** Flags word (u32), written as given. */
  flags: number;
  /** The header's size field, written as given even when it disagrees with `body`. */
  size: number;
  /** Payload bytes, written as given. */
  body: Uint8Array;
  /** fds attached as SCM_RIGHTS (ownership stays with whoever holds the message). */
  fds: number[];
}

/**
 * Header followed by the body: `msg.size` goes into the header as given and all of `msg.body`
 * follows, so callers can lie about the size on purpose. fds travel separately.
 */
export function encodeRaw(msg: RawMessage): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + msg.body.byteLength);
  encodeHeader({ request: msg.request, flags: msg.flags, size: msg.size }, out);
  out.set(msg.body, HEADER_SIZE);
  return out;
}

/**
 * Splits one complete frame (header + `size` bytes) into a RawMessage; the body is a copy.
 * Throws {@link MalformedMessageError} when `bytes` is shorter than the header says.
 * Bytes past the frame are ignored (they belong to the next message).
 */
export function decodeRaw(bytes: Uint8Array, fds: number[] = []): RawMessage {
  const h = decodeHeader(bytes);
  if (bytes.byteLength - HEADER_SIZE < h.size) {
    throw new MalformedMessageError(
      `frame: header size ${h.size} but only ${bytes.byteLength - HEADER_SIZE} payload bytes`,
      { raw: bytes },
    );
  }
  return { ...h, body: bytes.slice(HEADER_SIZE, HEADER_SIZE + h.size), fds };
}

type ValueOf<R> = R extends PayloadRef<infer T> ? T : never;

/** The request body type of request `N`. */
export type RequestPayload<N extends RequestName> = ValueOf<RequestEntry<N>['payload']>;

/**
 * The reply body type of request `N`: the reply codec's value for `always`; that value or a u64
 * ack for `ackOrAlways` and postcopy replies; a u64 ack otherwise.
 */
export type ReplyPayload<N extends RequestName> =
  RequestEntry<N> extends { readonly reply: 'always'; readonly replyPayload: infer R }
    ? ValueOf<R>
    : RequestEntry<N> extends { readonly replyPayload: infer R }
      ? ValueOf<R> | bigint
      : RequestEntry<N> extends { readonly altReplyPayload: infer R }
        ? ValueOf<R> | bigint
        : bigint;

/** Fields every typed message has. */
interface TypedBase<N extends RequestName> {
  /** Spec name of the request. */
  readonly request: N;
  /** Request code. */
  readonly code: RequestEntry<N>['code'];
  /** Direction of the *request* (a reply travels the other way on the same socket). */
  readonly direction: RequestEntry<N>['direction'];
  /** The raw flags word. */
  readonly flags: number;
  /** NEED_REPLY bit. */
  readonly needReply: boolean;
  /** Attached fds. */
  readonly fds: readonly number[];
}

/** A decoded request of type `N`. */
export interface TypedRequest<N extends RequestName = RequestName> extends TypedBase<N> {
  /** Discriminant: a request. */
  readonly kind: 'request';
  /** Decoded body. */
  readonly payload: RequestPayload<N>;
}

/** A decoded reply to request `N`. */
export interface TypedReply<N extends RequestName = RequestName> extends TypedBase<N> {
  /** Discriminant: a reply. */
  readonly kind: 'reply';
  /** Decoded body; a bigint when the reply is an ack. */
  readonly payload: ReplyPayload<N>;
  /** True when the body was read as a u64 REPLY_ACK status. */
  readonly isAck: boolean;
}

/** A typed request of any kind, narrowable on `request`. */
export type AnyTypedRequest = { [N in RequestName]: TypedRequest<N> }[RequestName];
/** A typed reply of any kind, narrowable on `request`. */
export type AnyTypedReply = { [N in RequestName]: TypedReply<N> }[RequestName];
/** Any typed message: narrow on `kind`, then on `request`. */
export type TypedMessage = AnyTypedRequest | AnyTypedReply;

/** Options of {@link buildMessage}. */
export interface BuildOptions {
  /** Set NEED_REPLY. */
  readonly needReply?: boolean;
  /** fds to attach. */
  readonly fds?: number[];
  /** Override the whole flags word (for deliberate violations); wins over `needReply`. */
  readonly flags?: number;
}

function specOrThrow(name: string): RequestSpec {
  const s = requestSpecByName(name);
  if (s === undefined) throw new RangeError(`unknown request name ${name}`);
  return s;
}

/**
 * A well-formed request `name` carrying `payload`: version 1 flags (plus NEED_REPLY if asked),
 * the correct size, and the given fds. Throws RangeError for an unknown name (a programming error).
 */
export function buildMessage<N extends RequestName>(name: N, payload: RequestPayload<N>, opts: BuildOptions = {}): RawMessage {
  const spec = specOrThrow(name);
  const body = (spec.payload.codec as PayloadCodec<RequestPayload<N>>).encode(payload);
  return {
    request: spec.code,
    flags: opts.flags ?? makeFlags({ needReply: opts.needReply ?? false }),
    size: body.byteLength,
    body,
    fds: opts.fds ?? [],
  };
}

/**
 * A request built from raw body bytes: version 1 flags (plus NEED_REPLY if asked), `size` equal to
 * the body length, nothing checked. For callers that encode bodies themselves; prefer
 * {@link buildMessage}, which is typed by the request table.
 */
export function buildRawMessage(request: number, body: Uint8Array = new Uint8Array(0), opts: BuildOptions = {}): RawMessage {
  return {
    request,
    flags: opts.flags ?? makeFlags({ needReply: opts.needReply ?? false }),
    size: body.byteLength,
    body,
    fds: opts.fds ?? [],
  };
}

/**
 * A well-formed reply to `name`: flags exactly 0x5, the reply body encoded with the table's reply
 * codec — or as a u64 ack when `payload` is a bigint and the request's reply body is not u64.
 */
export function buildReply<N extends RequestName>(name: N, payload: ReplyPayload<N>, opts: { fds?: number[]; flags?: number } = {}): RawMessage {
  const spec = specOrThrow(name);
  const codec = replyCodecFor(spec, typeof payload === 'bigint' ? 8 : -1) as PayloadCodec<ReplyPayload<N>>;
  const body = codec.encode(payload);
  return { request: spec.code, flags: opts.flags ?? REPLY_FLAGS, size: body.byteLength, body, fds: opts.fds ?? [] };
}

/** A REPLY_ACK ack for request `name`: u64 `status` (0 = success), flags 0x5. */
export function buildAck(name: RequestName, status: bigint = 0n): RawMessage {
  const spec = specOrThrow(name);
  const body = ACK_PAYLOAD.codec.encode(status);
  return { request: spec.code, flags: REPLY_FLAGS, size: body.byteLength, body, fds: [] };
}

/**
 * The codec a reply body of `bodySize` bytes is read with. `always` uses the reply codec; other
 * rules read an 8-byte body as an ack and anything else with the always/postcopy codec, if any.
 */
export function replyCodecFor(spec: RequestSpec, bodySize: number): PayloadCodec<unknown> {
  if (spec.reply === 'always' && spec.replyPayload) return spec.replyPayload.codec;
  if (bodySize === ACK_PAYLOAD.codec.minSize) return ACK_PAYLOAD.codec;
  return (spec.replyPayload ?? spec.altReplyPayload ?? ACK_PAYLOAD).codec;
}

function checkedDecode<T>(codec: PayloadCodec<T>, raw: RawMessage, what: string): T {
  if (raw.size !== raw.body.byteLength) {
    throw new MalformedMessageError(`${what}: header size ${raw.size} but body has ${raw.body.byteLength} bytes`, { raw: raw.body });
  }
  if (raw.body.byteLength < codec.minSize || raw.body.byteLength > codec.maxSize) {
    const range = codec.minSize === codec.maxSize ? `${codec.minSize}` : `${codec.minSize}..${codec.maxSize}`;
    throw new MalformedMessageError(`${what}: ${codec.family} body must be ${range} bytes, got ${raw.body.byteLength}`, { raw: raw.body });
  }
  try {
    return codec.decode(raw.body);
  } catch (e) {
    if (e instanceof MalformedMessageError) {
      throw new MalformedMessageError(`${what}: ${e.reason}`, { raw: raw.body, cause: e });
    }
    // A codec must only throw MalformedMessageError; anything else is wrapped so callers can
    // rely on the "decoders throw only ProtocolErrors" property even if a codec has a bug.
    throw new MalformedMessageError(`${what}: ${e instanceof Error ? e.message : String(e)}`, { raw: raw.body, cause: e });
  }
}

/**
 * Decodes `raw` as a request (REPLY bit clear) or a reply (REPLY bit set) of the table of
 * `direction` — the direction of the *request*, so a front-end reading back-end replies on
 * the main socket passes `'frontend-to-backend'`. Throws only {@link MalformedMessageError}:
 * unknown code, `size` ≠ body length, body size out of the codec's range, or a bad body.
 * Version, reserved flag bits and fds are left to the caller (see header.ts helpers).
 */
export function decodeMessage(raw: RawMessage, direction: Direction = Direction.FRONTEND_TO_BACKEND): TypedMessage {
  const spec = requestSpec(raw.request, direction);
  if (spec === undefined) {
    throw new MalformedMessageError(`unknown ${direction} request code ${raw.request}`, { raw: raw.body });
  }
  const fds = raw.fds ?? [];
  if (isReply(raw)) {
    const codec = replyCodecFor(spec, raw.body.byteLength);
    const payload = checkedDecode(codec, raw, `${spec.name} reply`);
    return {
      kind: 'reply', request: spec.name, code: spec.code, direction: spec.direction, flags: raw.flags,
      needReply: needsReply(raw), fds, payload, isAck: codec === ACK_PAYLOAD.codec && spec.replyPayload?.codec !== ACK_PAYLOAD.codec,
    } as TypedMessage;
  }
  const payload = checkedDecode(spec.payload.codec, raw, spec.name);
  return {
    kind: 'request', request: spec.name, code: spec.code, direction: spec.direction, flags: raw.flags,
    needReply: needsReply(raw), fds, payload,
  } as TypedMessage;
}

/**
 * Short human form for logs and evidence, e.g. `SET_VRING_NUM {index:0,num:256} flags=0x9 fds=0`,
 * `GET_FEATURES reply 0x140000000 flags=0x5 fds=0`. Never throws: an undecodable body shows as
 * `<malformed: reason>`, a size that lies as `size=N body=M`.
 */
export function describeMessage(raw: RawMessage, direction: Direction = Direction.FRONTEND_TO_BACKEND): string {
  const reply = (raw.flags & HeaderFlag.REPLY) !== 0;
  const parts = [requestName(raw.request, direction) + (reply ? ' reply' : '')];
  const spec = requestSpec(raw.request, direction);
  if (spec !== undefined) {
    const codec = reply ? replyCodecFor(spec, raw.body.byteLength) : spec.payload.codec;
    try {
      // Decode the body as it is, even when `size` lies: the lie is reported separately below.
      const text = codec.describe(codec.decode(raw.body));
      if (text !== '') parts.push(text);
    } catch (e) {
      parts.push(`<malformed: ${e instanceof MalformedMessageError ? e.reason : e instanceof Error ? e.message : 'error'}>`);
    }
  } else if (raw.body.byteLength > 0) {
    parts.push(`<${raw.body.byteLength} bytes>`);
  }
  if (raw.size !== raw.body.byteLength) parts.push(`size=${raw.size} body=${raw.body.byteLength}`);
  parts.push(`flags=0x${(raw.flags >>> 0).toString(16)}`, `fds=${raw.fds?.length ?? 0}`);
  return parts.join(' ');
}

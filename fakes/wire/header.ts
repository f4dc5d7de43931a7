/**
 * The 12-byte vhost-user message header (vhost-user.rst "Header"; CHECKLIST §1.1):
 * `0/4 request`, `4/4 flags`, `8/4 size`, host byte order. The same header serves both
 * directions (front-end → back-end on the main socket, back-end → front-end on the back-end
 * channel); only the meaning of `request` differs (STYLE §5).
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from './byte-order.js';
import { MalformedMessageError } from './errors.js';

/** Header length in bytes; the payload starts right after it. */
export const HEADER_SIZE = 12;

/** Bits of the `flags` word. Bits 4–31 are unused and must be sent as 0. */
export const HeaderFlag = {
  /** Bits 0–1: protocol version. */
  VERSION_MASK: 0x3,
  /** The only defined version. */
  VERSION: 1,
  /** Bit 2: set on every reply. */
  REPLY: 0x4,
  /** Bit 3: the sender wants an ack (REPLY_ACK). */
  NEED_REPLY: 0x8,
} as const;

/** Mask of the bits the spec leaves unused (4–31). */
export const HEADER_RESERVED_FLAGS_MASK = 0xfffffff0;

/** The exact flags QEMU accepts on a reply: version 1 + REPLY (VU-MSG-001, D19). */
export const REPLY_FLAGS = HeaderFlag.VERSION | HeaderFlag.REPLY;

/** Flags of a plain request: version 1, nothing else. */
export const REQUEST_FLAGS = HeaderFlag.VERSION;

/** A decoded header. Fields are u32 values; nothing is checked beyond the 12-byte length. */
export interface Header {
  /** Request code (see requests.ts); 0 is never valid but can be represented. */
  readonly request: number;
  /** Flags word, see {@link HeaderFlag}. */
  readonly flags: number;
  /** Number of payload bytes that follow. */
  readonly size: number;
}

/**
 * Writes `h` into `out` at `offset` (default: a new 12-byte array). Values are taken modulo
 * 2^32, so callers can encode any number they like, including lies.
 */
export function encodeHeader(h: Header, out: Uint8Array = new Uint8Array(HEADER_SIZE), offset = 0): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset + offset, HEADER_SIZE);
  v.setUint32(0, h.request >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(4, h.flags >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(8, h.size >>> 0, HOST_LITTLE_ENDIAN);
  return out;
}

/**
 * Reads a header from `bytes` at `offset`. Throws {@link MalformedMessageError} when fewer than
 * 12 bytes are available; every 12-byte pattern decodes (checks are the caller's job).
 */
export function decodeHeader(bytes: Uint8Array, offset = 0): Header {
  if (!Number.isInteger(offset) || offset < 0 || bytes.byteLength - offset < HEADER_SIZE) {
    throw new MalformedMessageError(
      `header: need ${HEADER_SIZE} bytes at offset ${offset}, have ${Math.max(0, bytes.byteLength - offset)}`,
      { raw: bytes },
    );
  }
  const v = viewOf(bytes);
  return {
    request: v.getUint32(offset, HOST_LITTLE_ENDIAN),
    flags: v.getUint32(offset + 4, HOST_LITTLE_ENDIAN),
    size: v.getUint32(offset + 8, HOST_LITTLE_ENDIAN),
  };
}

/** Builds a flags word: version 1 plus the requested bits. */
export function makeFlags(opts: { reply?: boolean; needReply?: boolean } = {}): number {
  return HeaderFlag.VERSION | (opts.reply ? HeaderFlag.REPLY : 0) | (opts.needReply ? HeaderFlag.NEED_REPLY : 0);
}

/** The version field (bits 0–1). */
export const headerVersion = (h: Pick<Header, 'flags'>): number => h.flags & HeaderFlag.VERSION_MASK;

/** True when the version field is 1, the only valid version (VU-MSG-008). */
export const hasValidVersion = (h: Pick<Header, 'flags'>): boolean => headerVersion(h) === HeaderFlag.VERSION;

/** True when the REPLY bit is set. */
export const isReply = (h: Pick<Header, 'flags'>): boolean => (h.flags & HeaderFlag.REPLY) !== 0;

/** True when the NEED_REPLY bit is set. */
export const needsReply = (h: Pick<Header, 'flags'>): boolean => (h.flags & HeaderFlag.NEED_REPLY) !== 0;

/** True when any of the unused bits 4–31 is set. */
export const hasReservedFlags = (h: Pick<Header, 'flags'>): boolean => ((h.flags & HEADER_RESERVED_FLAGS_MASK) >>> 0) !== 0;

/**
 * True when `h` is a reply (REPLY bit set) to `request`. Deliberately looser than QEMU, which also
 * wants `flags === 0x5` exactly: use {@link isStrictReplyFor} to check that (VU-MSG-001).
 */
export const isReplyFor = (h: Header, request: number): boolean => isReply(h) && h.request === request;

/** True when `h` answers `request` with flags exactly {@link REPLY_FLAGS}, as QEMU's reader demands. */
export const isStrictReplyFor = (h: Header, request: number): boolean =>
  h.flags === REPLY_FLAGS && h.request === request;

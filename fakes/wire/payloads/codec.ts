/**
 * The shape every payload family module shares (STYLE §3): a `decode` that throws only
 * {@link MalformedMessageError}, an `encode` that writes whatever it is given (so callers can
 * build lies on purpose), byte-size bounds and a syntax-only `validate` that returns a *reason*.
 * Plus the small helpers the family modules use; nothing here knows about session state.
 * @module
 */
import { MalformedMessageError } from '../errors.js';

/** Names of the payload families (CHECKLIST §3); the request table refers to codecs by these. */
export type PayloadFamily =
  | 'empty'
  | 'u64'
  | 'vring-state'
  | 'vring-fd'
  | 'vring-addr'
  | 'memory-table'
  | 'mem-region'
  | 'log'
  | 'log-reply'
  | 'config'
  | 'config-reply'
  | 'inflight'
  | 'iotlb'
  | 'vring-area'
  | 'shared-object'
  | 'device-state'
  | 'mmap-request'
  | 'shmem-config'
  | 'opaque';

/** A payload codec. `decode(encode(v))` equals `v` for every `v` that `validate` accepts. */
export interface PayloadCodec<T> {
  /** Family name, as used in the request table and in evidence. */
  readonly family: PayloadFamily;
  /** Smallest body `decode` accepts, in bytes. */
  readonly minSize: number;
  /** Largest body `decode` accepts, in bytes (equal to `minSize` for fixed-size families). */
  readonly maxSize: number;
  /** Decodes a body; throws only {@link MalformedMessageError}. */
  decode(bytes: Uint8Array): T;
  /** Encodes a value; integers are written modulo their field width, nothing is checked. */
  encode(value: T): Uint8Array;
  /** Syntax check only (no session state): `undefined` when fine, else the reason. */
  validate(value: T): string | undefined;
  /** Short human form for logs and evidence, e.g. `{index:0,num:256}`. */
  describe(value: T): string;
}

/** The value type a codec decodes to. */
export type PayloadValue<C> = C extends PayloadCodec<infer T> ? T : never;

/** Throws unless `bytes` is exactly `size` long. */
export function expectSize(family: PayloadFamily, bytes: Uint8Array, size: number): void {
  if (bytes.byteLength !== size) {
    throw new MalformedMessageError(`${family}: expected ${size} bytes, got ${bytes.byteLength}`, { raw: bytes });
  }
}

/** Throws unless `min <= bytes.length <= max`. */
export function expectSizeRange(family: PayloadFamily, bytes: Uint8Array, min: number, max: number): void {
  if (bytes.byteLength < min || bytes.byteLength > max) {
    throw new MalformedMessageError(`${family}: expected ${min}..${max} bytes, got ${bytes.byteLength}`, { raw: bytes });
  }
}

const U64_MAX = (1n << 64n) - 1n;

/** Reason when `v` is not an integer in `0..2^bits-1` (bits ≤ 32), else undefined. */
export function uintReason(field: string, v: unknown, bits: 8 | 16 | 32): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** bits - 1) {
    return `${field} must be a u${bits}, got ${describeValue(v)}`;
  }
  return undefined;
}

/** Reason when `v` is not a bigint in `0..2^64-1`, else undefined. */
export function u64Reason(field: string, v: unknown): string | undefined {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) return `${field} must be a u64 bigint, got ${describeValue(v)}`;
  return undefined;
}

/** Reason when `a + b` does not fit in a u64 (wrap-around tricks, CVE-2020-10722 class). */
export function u64SumReason(what: string, a: bigint, b: bigint): string | undefined {
  return a + b > U64_MAX + 1n ? `${what} overflows u64` : undefined;
}

/** First defined reason of a list, so validators read as a flat list of checks. */
export const firstReason = (...reasons: (string | undefined)[]): string | undefined => reasons.find((r) => r !== undefined);

/**
 * Compact human rendering: objects as `{k:v,…}`, bigints as hex, byte arrays as `<n bytes>`,
 * long arrays truncated. Used for evidence strings, so it must never throw.
 */
export function describeValue(v: unknown, depth = 0): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  if (depth > 3) return '…';
  if (Array.isArray(v)) {
    const shown = v.slice(0, 4).map((x) => describeValue(x, depth + 1));
    return `[${shown.join(',')}${v.length > 4 ? `,…(${v.length})` : ''}]`;
  }
  if (typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${describeValue(x, depth + 1)}`);
    return `{${parts.join(',')}}`;
  }
  return typeof v;
}

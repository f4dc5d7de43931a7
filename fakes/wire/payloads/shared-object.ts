/**
 * The shared-object UUID payload (CHECKLIST §3.12), 16 bytes: GET_SHARED_OBJECT and the
 * back-end's SHARED_OBJECT_ADD / REMOVE / LOOKUP. The first three UUID fields are big-endian,
 * which is exactly RFC 4122 byte order, so the canonical string maps to the bytes in order.
 * @module
 */
import { type PayloadCodec, expectSize } from './codec.js';

/** A shared-object id. */
export interface SharedObject {
  /** The 16 UUID bytes in wire (RFC 4122) order. */
  readonly uuid: Uint8Array;
}

/** Body size in bytes. */
export const SIZE = 16;

/** Decodes the 16-byte body (copied). */
export function decode(bytes: Uint8Array): SharedObject {
  expectSize('shared-object', bytes, SIZE);
  return { uuid: bytes.slice() };
}

/** Encodes `value`: the first 16 bytes of `uuid`, zero-padded. */
export function encode(value: SharedObject): Uint8Array {
  const out = new Uint8Array(SIZE);
  out.set(value.uuid.subarray(0, SIZE));
  return out;
}

/** Reason unless `uuid` is 16 bytes. */
export const validate = (value: SharedObject): string | undefined =>
  value.uuid instanceof Uint8Array && value.uuid.byteLength === SIZE ? undefined : 'uuid must be 16 bytes';

/** Canonical `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` form of 16 UUID bytes. */
export function uuidToString(uuid: Uint8Array): string {
  const h = Array.from(uuid.subarray(0, SIZE), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The 16 bytes of a canonical UUID string; throws RangeError on a malformed string. */
export function uuidFromString(s: string): Uint8Array {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) {
    throw new RangeError(`not a UUID: ${s}`);
  }
  const h = s.replace(/-/g, '');
  const out = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The shared-object codec. */
export const codec: PayloadCodec<SharedObject> = {
  family: 'shared-object', minSize: SIZE, maxSize: SIZE, decode, encode, validate,
  describe: (v) => `{uuid:${uuidToString(v.uuid)}}`,
};

/**
 * Opaque payloads whose layout the wire model does not pin down: CREATE_CRYPTO_SESSION
 * (QEMU-internal struct that changed between releases) and the proposed T3 BACKEND_MEM_READ /
 * BACKEND_MEM_WRITE (`VhostUserMemRWMsg`, not in any merged spec copy). Bytes pass through.
 * @module
 */
import { type PayloadCodec, expectSizeRange } from './codec.js';

/**
 * Largest opaque body we accept. A bound of our own (no spec value): well above QEMU's crypto
 * session struct and the 2056-byte largest defined payload, small enough to stop a hostile size.
 */
export const MAX_SIZE = 4096;
/** Smallest opaque body. */
export const MIN_SIZE = 0;

/** Copies the body. */
export function decode(bytes: Uint8Array): Uint8Array {
  expectSizeRange('opaque', bytes, MIN_SIZE, MAX_SIZE);
  return bytes.slice();
}

/** Copies the bytes. */
export const encode = (value: Uint8Array): Uint8Array => value.slice();

/** Reason when not bytes or longer than {@link MAX_SIZE}. */
export const validate = (value: Uint8Array): string | undefined =>
  !(value instanceof Uint8Array) ? 'must be a Uint8Array' : value.byteLength > MAX_SIZE ? `longer than ${MAX_SIZE}` : undefined;

/** The opaque codec. */
export const codec: PayloadCodec<Uint8Array> = {
  family: 'opaque', minSize: MIN_SIZE, maxSize: MAX_SIZE, decode, encode, validate,
  describe: (v) => `<${v.byteLength} bytes>`,
};

/**
 * The empty payload (`size = 0`): GET_FEATURES, SET_OWNER, GET_QUEUE_NUM and the other requests
 * the spec lists with "request payload: N/A". Decoding rejects any byte: a stray body is a
 * size mismatch that a strict back-end should see.
 * @module
 */
import { type PayloadCodec, expectSize } from './codec.js';

/** The value of an empty payload. */
export type Empty = undefined;

/** Body size in bytes. */
export const SIZE = 0;

/** Accepts only a zero-length body. */
export function decode(bytes: Uint8Array): Empty {
  expectSize('empty', bytes, SIZE);
  return undefined;
}

/** Always a zero-length array. */
export const encode = (_value?: Empty): Uint8Array => new Uint8Array(0);

/** Nothing to check. */
export const validate = (_value?: Empty): string | undefined => undefined;

/** The empty codec. */
export const codec: PayloadCodec<Empty> = {
  family: 'empty', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: () => '',
};

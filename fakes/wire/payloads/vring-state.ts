/**
 * The vring state payload (CHECKLIST §3.2, §3.3): `0/4 index`, `4/4 num`. Used by
 * SET_VRING_NUM (num = size), SET/GET_VRING_BASE (num = base, see vring-base.ts),
 * SET_VRING_ENABLE (num 0/1), SET_VRING_ENDIAN, VRING_KICK and the back-end's VRING_CALL/ERR.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, uintReason } from './codec.js';

/** A vring state: ring index and a request-specific number. */
export interface VringState {
  /** Ring (virtqueue) index. */
  readonly index: number;
  /** Size, base, enable flag or endianness, depending on the request. */
  readonly num: number;
}

/** Body size in bytes. */
export const SIZE = 8;

/** Decodes the 8-byte body. */
export function decode(bytes: Uint8Array): VringState {
  expectSize('vring-state', bytes, SIZE);
  const v = viewOf(bytes);
  return { index: v.getUint32(0, HOST_LITTLE_ENDIAN), num: v.getUint32(4, HOST_LITTLE_ENDIAN) };
}

/** Encodes `value` (fields modulo 2^32). */
export function encode(value: VringState): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setUint32(0, value.index >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(4, value.num >>> 0, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason unless both fields are u32. */
export const validate = (value: VringState): string | undefined =>
  firstReason(uintReason('index', value.index, 32), uintReason('num', value.num, 32));

/** The vring-state codec. */
export const codec: PayloadCodec<VringState> = {
  family: 'vring-state', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

/** SET_VRING_ENDIAN values (`num`). */
export const VringEndian = { LITTLE: 0, BIG: 1 } as const;

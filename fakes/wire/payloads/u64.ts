/**
 * The u64 payload (CHECKLIST §3.1): feature words, queue counts, status, acks, MTU, RARP MAC.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, u64Reason } from './codec.js';

/** Body size in bytes. */
export const SIZE = 8;

/** Decodes the 8-byte body. */
export function decode(bytes: Uint8Array): bigint {
  expectSize('u64', bytes, SIZE);
  return viewOf(bytes).getBigUint64(0, HOST_LITTLE_ENDIAN);
}

/** Encodes `value` modulo 2^64. */
export function encode(value: bigint): Uint8Array {
  const out = new Uint8Array(SIZE);
  viewOf(out).setBigUint64(0, value, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason unless `value` is a bigint in u64 range. */
export const validate = (value: bigint): string | undefined => u64Reason('value', value);

/** The u64 codec. */
export const codec: PayloadCodec<bigint> = {
  family: 'u64', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

/** Reply value meaning success in a REPLY_ACK ack (any other value is a failure). */
export const ACK_OK = 0n;

/**
 * The 6-byte MAC address SEND_RARP carries in the first bytes of its u64 (in memory order),
 * as `aa:bb:cc:dd:ee:ff`.
 */
export function rarpMac(value: bigint): string {
  const b = encode(value);
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The u64 SEND_RARP carries for `mac` (`aa:bb:cc:dd:ee:ff`); throws RangeError on a bad string. */
export function rarpValue(mac: string): bigint {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`bad MAC ${mac}`);
  const b = new Uint8Array(SIZE);
  parts.forEach((p, i) => (b[i] = Number.parseInt(p, 16)));
  return decode(b);
}

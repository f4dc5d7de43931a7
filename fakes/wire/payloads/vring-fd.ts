/**
 * The u64 of SET_VRING_KICK / SET_VRING_CALL / SET_VRING_ERR (CHECKLIST §2.1 IDs 12–14,
 * VU-FD-*): bits 0–7 ring index, bit 8 "no fd" (`VHOST_USER_VRING_NOFD_MASK`), bits 9–63
 * unspecified (D9). The same bits lead the vring area of HOST_NOTIFIER (vring-area.ts).
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason, uintReason } from './codec.js';

/** Bits 0–7: the ring index. */
export const VRING_IDX_MASK = 0xff;
/** Bit 8: no fd is attached (kick: poll; call: no notification). */
export const VRING_NOFD_MASK = 0x100;
/** Bits 9–63, which the spec leaves unspecified (D9). */
export const VRING_FD_UPPER_MASK = ~0x1ffn & ((1n << 64n) - 1n);

/** A decoded kick/call/err u64. */
export interface VringFd {
  /** Ring index (bits 0–7). */
  readonly index: number;
  /** Bit 8: true when no fd accompanies the message. */
  readonly noFd: boolean;
  /** Bits 9–63 in place (value & ~0x1ff); 0 for every well-formed message. */
  readonly upper: bigint;
}

/** Body size in bytes. */
export const SIZE = 8;

/** Splits a kick/call/err u64 into index, NOFD flag and the unspecified upper bits. */
export function decodeVringFdValue(value: bigint): VringFd {
  return {
    index: Number(value & BigInt(VRING_IDX_MASK)),
    noFd: (value & BigInt(VRING_NOFD_MASK)) !== 0n,
    upper: value & VRING_FD_UPPER_MASK,
  };
}

/** Joins index (mod 256), NOFD and upper bits (bits 0–8 of `upper` ignored) into the u64. */
export function encodeVringFdValue(v: { index: number; noFd?: boolean; upper?: bigint }): bigint {
  return (
    BigInt(v.index & VRING_IDX_MASK) | (v.noFd ? BigInt(VRING_NOFD_MASK) : 0n) | ((v.upper ?? 0n) & VRING_FD_UPPER_MASK)
  );
}

/** Decodes the 8-byte body. */
export function decode(bytes: Uint8Array): VringFd {
  expectSize('vring-fd', bytes, SIZE);
  return decodeVringFdValue(viewOf(bytes).getBigUint64(0, HOST_LITTLE_ENDIAN));
}

/** Encodes `value`. */
export function encode(value: VringFd): Uint8Array {
  const out = new Uint8Array(SIZE);
  viewOf(out).setBigUint64(0, encodeVringFdValue(value), HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when the index is not a u8 or bits 9–63 are set (spec-silent, D9; a strict peer rejects). */
export const validate = (value: VringFd): string | undefined =>
  firstReason(
    uintReason('index', value.index, 8),
    u64Reason('upper', value.upper),
    typeof value.upper === 'bigint' && (value.upper & 0x1ffn) !== 0n ? 'upper must have bits 0-8 clear' : undefined,
    typeof value.upper === 'bigint' && value.upper !== 0n ? `bits 9-63 set (0x${value.upper.toString(16)})` : undefined,
  );

/** The vring-fd codec. */
export const codec: PayloadCodec<VringFd> = {
  family: 'vring-fd', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

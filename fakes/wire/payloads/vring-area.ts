/**
 * The vring area of BACKEND_VRING_HOST_NOTIFIER_MSG (CHECKLIST §3.10), 24 bytes: `0/8 u64`
 * (bits 0–7 ring index, bit 8 "no fd" as QEMU honours it), `8/8 size`, `16/8 offset`.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason } from './codec.js';
import { VRING_NOFD_MASK, type VringFd, decodeVringFdValue } from './vring-fd.js';

/** A host-notifier area. */
export interface VringArea {
  /** Ring index and NOFD flag, as in the kick/call/err u64 (see vring-fd.ts). */
  readonly u64: bigint;
  /** Bytes to map (one host page). */
  readonly size: bigint;
  /** Offset in the fd. */
  readonly offset: bigint;
}

/** Body size in bytes. */
export const SIZE = 24;

/** Decodes the 24-byte body. */
export function decode(bytes: Uint8Array): VringArea {
  expectSize('vring-area', bytes, SIZE);
  const v = viewOf(bytes);
  return {
    u64: v.getBigUint64(0, HOST_LITTLE_ENDIAN),
    size: v.getBigUint64(8, HOST_LITTLE_ENDIAN),
    offset: v.getBigUint64(16, HOST_LITTLE_ENDIAN),
  };
}

/** Encodes `value`. */
export function encode(value: VringArea): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setBigUint64(0, value.u64, HOST_LITTLE_ENDIAN);
  v.setBigUint64(8, value.size, HOST_LITTLE_ENDIAN);
  v.setBigUint64(16, value.offset, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when a field is not a u64. */
export const validate = (value: VringArea): string | undefined =>
  firstReason(u64Reason('u64', value.u64), u64Reason('size', value.size), u64Reason('offset', value.offset));

/** Ring index and NOFD flag of an area. */
export const areaRing = (value: VringArea): VringFd => decodeVringFdValue(value.u64);

/** True when the area says no fd is attached (deregistration). */
export const areaHasNoFd = (value: VringArea): boolean => (value.u64 & BigInt(VRING_NOFD_MASK)) !== 0n;

/** The vring-area codec. */
export const codec: PayloadCodec<VringArea> = {
  family: 'vring-area', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

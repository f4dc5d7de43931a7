/**
 * The IOTLB payload (`struct vhost_iotlb_msg`, CHECKLIST §3.8), 32 bytes on LP64: `0/8 iova`,
 * `8/8 size`, `16/8 uaddr`, `24/1 perm`, `25/1 type`, `26/6` padding. Used by IOTLB_MSG and
 * the back-end's BACKEND_IOTLB_MSG.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason, uintReason } from './codec.js';

/** `type` values. */
export const IotlbType = { MISS: 1, UPDATE: 2, INVALIDATE: 3, ACCESS_FAIL: 4 } as const;
/** `perm` values. */
export const IotlbPerm = { NONE: 0, RO: 1, WO: 2, RW: 3 } as const;

/** An IOTLB message. */
export interface Iotlb {
  /** I/O virtual address. */
  readonly iova: bigint;
  /** Length of the range. */
  readonly size: bigint;
  /** Front-end user address (GPA with GPA_ADDRESSES, except in BACKEND_IOTLB_MSG). */
  readonly uaddr: bigint;
  /** See {@link IotlbPerm}. */
  readonly perm: number;
  /** See {@link IotlbType}. */
  readonly type: number;
}

/** Body size in bytes. */
export const SIZE = 32;

/** Decodes the 32-byte body (padding ignored). */
export function decode(bytes: Uint8Array): Iotlb {
  expectSize('iotlb', bytes, SIZE);
  const v = viewOf(bytes);
  return {
    iova: v.getBigUint64(0, HOST_LITTLE_ENDIAN),
    size: v.getBigUint64(8, HOST_LITTLE_ENDIAN),
    uaddr: v.getBigUint64(16, HOST_LITTLE_ENDIAN),
    perm: v.getUint8(24),
    type: v.getUint8(25),
  };
}

/** Encodes `value` (padding zero). */
export function encode(value: Iotlb): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setBigUint64(0, value.iova, HOST_LITTLE_ENDIAN);
  v.setBigUint64(8, value.size, HOST_LITTLE_ENDIAN);
  v.setBigUint64(16, value.uaddr, HOST_LITTLE_ENDIAN);
  v.setUint8(24, value.perm & 0xff);
  v.setUint8(25, value.type & 0xff);
  return out;
}

/** Reason when a field is out of range or `type` (1–4) / `perm` (0–3) is undefined (VU-IOTLB-007). */
export const validate = (value: Iotlb): string | undefined =>
  firstReason(
    u64Reason('iova', value.iova),
    u64Reason('size', value.size),
    u64Reason('uaddr', value.uaddr),
    uintReason('perm', value.perm, 8),
    uintReason('type', value.type, 8),
    value.perm > IotlbPerm.RW ? `undefined perm ${value.perm}` : undefined,
    value.type < IotlbType.MISS || value.type > IotlbType.ACCESS_FAIL ? `undefined type ${value.type}` : undefined,
  );

/** The IOTLB codec. */
export const codec: PayloadCodec<Iotlb> = {
  family: 'iotlb', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

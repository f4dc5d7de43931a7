/**
 * The vring address payload of SET_VRING_ADDR (CHECKLIST §3.4), 40 bytes: `0/4 index`,
 * `4/4 flags`, `8/8 descriptor`, `16/8 used`, `24/8 available`, `32/8 log`. Note the order:
 * used before available. For packed rings, used/available hold the device/driver event
 * suppression areas. Addresses are front-end user addresses unless ACCESS_PLATFORM (IOVA) or
 * GPA_ADDRESSES (GPA): the codec does not care.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason, uintReason } from './codec.js';

/** `flags` bit 0 (`VHOST_VRING_F_LOG`): log used-ring writes at `logGuestAddr`. */
export const VRING_F_LOG = 1;

/** A vring address. */
export interface VringAddr {
  /** Ring index. */
  readonly index: number;
  /** Flags; only {@link VRING_F_LOG} is defined. */
  readonly flags: number;
  /** Descriptor table (split) or descriptor ring (packed). */
  readonly descAddr: bigint;
  /** Used ring (packed: device event suppression area). */
  readonly usedAddr: bigint;
  /** Available ring (packed: driver event suppression area). */
  readonly availAddr: bigint;
  /** Guest address of the used ring in the dirty log. */
  readonly logGuestAddr: bigint;
}

/** Body size in bytes. */
export const SIZE = 40;

/** Decodes the 40-byte body. */
export function decode(bytes: Uint8Array): VringAddr {
  expectSize('vring-addr', bytes, SIZE);
  const v = viewOf(bytes);
  return {
    index: v.getUint32(0, HOST_LITTLE_ENDIAN),
    flags: v.getUint32(4, HOST_LITTLE_ENDIAN),
    descAddr: v.getBigUint64(8, HOST_LITTLE_ENDIAN),
    usedAddr: v.getBigUint64(16, HOST_LITTLE_ENDIAN),
    availAddr: v.getBigUint64(24, HOST_LITTLE_ENDIAN),
    logGuestAddr: v.getBigUint64(32, HOST_LITTLE_ENDIAN),
  };
}

/** Encodes `value`. */
export function encode(value: VringAddr): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setUint32(0, value.index >>> 0, HOST_LITTLE_ENDIAN);
  v.setUint32(4, value.flags >>> 0, HOST_LITTLE_ENDIAN);
  v.setBigUint64(8, value.descAddr, HOST_LITTLE_ENDIAN);
  v.setBigUint64(16, value.usedAddr, HOST_LITTLE_ENDIAN);
  v.setBigUint64(24, value.availAddr, HOST_LITTLE_ENDIAN);
  v.setBigUint64(32, value.logGuestAddr, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when a field is out of range or an undefined flag bit is set. */
export const validate = (value: VringAddr): string | undefined =>
  firstReason(
    uintReason('index', value.index, 32),
    uintReason('flags', value.flags, 32),
    u64Reason('descAddr', value.descAddr),
    u64Reason('usedAddr', value.usedAddr),
    u64Reason('availAddr', value.availAddr),
    u64Reason('logGuestAddr', value.logGuestAddr),
    (value.flags & ~VRING_F_LOG) !== 0 ? `undefined flag bits 0x${((value.flags & ~VRING_F_LOG) >>> 0).toString(16)}` : undefined,
  );

/** The vring-addr codec. */
export const codec: PayloadCodec<VringAddr> = {
  family: 'vring-addr', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

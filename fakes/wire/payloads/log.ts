/**
 * The log payload of SET_LOG_BASE (CHECKLIST §3.7): `0/8 mmap_size`, `8/8 mmap_offset`. Its
 * reply (with LOG_SHMFD) has no body in the spec: DPDK sends size 0, rust-vmm echoes the 16
 * bytes (D3), so {@link replyCodec} accepts both.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { MalformedMessageError } from '../errors.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason, u64SumReason } from './codec.js';

/** Dirty-log page size (`VHOST_LOG_PAGE`): one bit per 4 KiB of guest memory. */
export const VHOST_LOG_PAGE = 0x1000;

/** A dirty-log area. */
export interface Log {
  /** Bytes to map from the fd. */
  readonly mmapSize: bigint;
  /** Offset in the fd of the byte holding the bit for GPA 0. */
  readonly mmapOffset: bigint;
}

/** Body size in bytes. */
export const SIZE = 16;

/** Decodes the 16-byte body. */
export function decode(bytes: Uint8Array): Log {
  expectSize('log', bytes, SIZE);
  const v = viewOf(bytes);
  return { mmapSize: v.getBigUint64(0, HOST_LITTLE_ENDIAN), mmapOffset: v.getBigUint64(8, HOST_LITTLE_ENDIAN) };
}

/** Encodes `value`. */
export function encode(value: Log): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setBigUint64(0, value.mmapSize, HOST_LITTLE_ENDIAN);
  v.setBigUint64(8, value.mmapOffset, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when a field is not a u64 or `offset + size` wraps (VU-MIG-002). */
export const validate = (value: Log): string | undefined =>
  firstReason(u64Reason('mmapSize', value.mmapSize), u64Reason('mmapOffset', value.mmapOffset)) ??
  u64SumReason('mmapOffset + mmapSize', value.mmapOffset, value.mmapSize);

/** The log codec. */
export const codec: PayloadCodec<Log> = {
  family: 'log', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

/** The SET_LOG_BASE reply body: nothing (DPDK) or the echoed log (rust-vmm), see D3. */
export type LogReply = Log | undefined;

/** The reply codec: 0 bytes → undefined, 16 bytes → the echoed log; other sizes are malformed. */
export const replyCodec: PayloadCodec<LogReply> = {
  family: 'log-reply',
  minSize: 0,
  maxSize: SIZE,
  decode(bytes) {
    if (bytes.byteLength === 0) return undefined;
    if (bytes.byteLength !== SIZE) {
      throw new MalformedMessageError(`log-reply: expected 0 or ${SIZE} bytes, got ${bytes.byteLength}`, { raw: bytes });
    }
    return decode(bytes);
  },
  encode: (value) => (value === undefined ? new Uint8Array(0) : encode(value)),
  validate: (value) => (value === undefined ? undefined : validate(value)),
  describe: (value) => (value === undefined ? '' : describeValue(value)),
};

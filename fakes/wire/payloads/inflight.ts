/**
 * The inflight description of GET_INFLIGHT_FD / SET_INFLIGHT_FD (CHECKLIST §3.11):
 * `0/8 mmap_size`, `8/8 mmap_offset`, `16/2 num_queues`, `18/2 queue_size`, then 4 bytes of
 * C struct padding: QEMU and DPDK send and expect `size = 24`.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason, uintReason } from './codec.js';

/** An inflight area description. */
export interface Inflight {
  /** Size of the shared area (filled by the back-end in the reply). */
  readonly mmapSize: bigint;
  /** Offset of the area in the fd. */
  readonly mmapOffset: bigint;
  /** Number of queues the area covers. */
  readonly numQueues: number;
  /** Entries per queue. */
  readonly queueSize: number;
}

/** Body size in bytes (20 bytes of fields plus 4 of padding). */
export const SIZE = 24;

/** Decodes the 24-byte body (padding ignored). */
export function decode(bytes: Uint8Array): Inflight {
  expectSize('inflight', bytes, SIZE);
  const v = viewOf(bytes);
  return {
    mmapSize: v.getBigUint64(0, HOST_LITTLE_ENDIAN),
    mmapOffset: v.getBigUint64(8, HOST_LITTLE_ENDIAN),
    numQueues: v.getUint16(16, HOST_LITTLE_ENDIAN),
    queueSize: v.getUint16(18, HOST_LITTLE_ENDIAN),
  };
}

/** Encodes `value` (padding zero). */
export function encode(value: Inflight): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setBigUint64(0, value.mmapSize, HOST_LITTLE_ENDIAN);
  v.setBigUint64(8, value.mmapOffset, HOST_LITTLE_ENDIAN);
  v.setUint16(16, value.numQueues & 0xffff, HOST_LITTLE_ENDIAN);
  v.setUint16(18, value.queueSize & 0xffff, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when a field is out of range. */
export const validate = (value: Inflight): string | undefined =>
  firstReason(
    u64Reason('mmapSize', value.mmapSize),
    u64Reason('mmapOffset', value.mmapOffset),
    uintReason('numQueues', value.numQueues, 16),
    uintReason('queueSize', value.queueSize, 16),
  );

/** The inflight codec. */
export const codec: PayloadCodec<Inflight> = {
  family: 'inflight', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

/**
 * The mmap request of BACKEND_SHMEM_MAP / BACKEND_SHMEM_UNMAP (CHECKLIST §3.14, T1), 40 bytes:
 * `0/1 shmid`, `1/7 padding`, `8/8 fd_offset`, `16/8 shm_offset`, `24/8 len`, `32/8 flags`.
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, describeValue, expectSize, firstReason, u64Reason, uintReason } from './codec.js';

/** `flags` bit 0: map read-write (clear: read-only). */
export const MMAP_RW = 1n;

/** A shared-memory map/unmap request. */
export interface MmapRequest {
  /** Shared memory region id (0..255). */
  readonly shmid: number;
  /** Offset in the attached fd. */
  readonly fdOffset: bigint;
  /** Offset inside the shared memory region. */
  readonly shmOffset: bigint;
  /** Length of the mapping. */
  readonly len: bigint;
  /** See {@link MMAP_RW}. */
  readonly flags: bigint;
}

/** Body size in bytes. */
export const SIZE = 40;

/** Decodes the 40-byte body (padding ignored). */
export function decode(bytes: Uint8Array): MmapRequest {
  expectSize('mmap-request', bytes, SIZE);
  const v = viewOf(bytes);
  return {
    shmid: v.getUint8(0),
    fdOffset: v.getBigUint64(8, HOST_LITTLE_ENDIAN),
    shmOffset: v.getBigUint64(16, HOST_LITTLE_ENDIAN),
    len: v.getBigUint64(24, HOST_LITTLE_ENDIAN),
    flags: v.getBigUint64(32, HOST_LITTLE_ENDIAN),
  };
}

/** Encodes `value` (padding zero). */
export function encode(value: MmapRequest): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setUint8(0, value.shmid & 0xff);
  v.setBigUint64(8, value.fdOffset, HOST_LITTLE_ENDIAN);
  v.setBigUint64(16, value.shmOffset, HOST_LITTLE_ENDIAN);
  v.setBigUint64(24, value.len, HOST_LITTLE_ENDIAN);
  v.setBigUint64(32, value.flags, HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when a field is out of range or an undefined flag bit is set. */
export const validate = (value: MmapRequest): string | undefined =>
  firstReason(
    uintReason('shmid', value.shmid, 8),
    u64Reason('fdOffset', value.fdOffset),
    u64Reason('shmOffset', value.shmOffset),
    u64Reason('len', value.len),
    u64Reason('flags', value.flags),
  ) ?? ((value.flags & ~MMAP_RW) !== 0n ? `undefined flag bits 0x${(value.flags & ~MMAP_RW).toString(16)}` : undefined);

/** The mmap-request codec. */
export const codec: PayloadCodec<MmapRequest> = {
  family: 'mmap-request', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

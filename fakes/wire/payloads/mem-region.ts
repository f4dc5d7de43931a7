/**
 * Memory regions (CHECKLIST §3.5, §3.6). The 32-byte region — `0/8 guest_phys_addr`,
 * `8/8 memory_size`, `16/8 userspace_addr`, `24/8 mmap_offset` — is shared with the memory
 * table; with XEN_MMAP it grows to 40 bytes (`32/4 xen_mmap_flags`, `36/4 domid`). The single-
 * region payload of ADD_MEM_REG / REM_MEM_REG is `0/8 padding` + region: 40 bytes (48 with
 * XEN_MMAP). Which layout applies depends on a negotiated protocol feature, so the caller picks
 * {@link codec} or {@link xenCodec}; the decoder never consults session state (STYLE §6).
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import {
  type PayloadCodec,
  describeValue,
  expectSize,
  firstReason,
  u64Reason,
  u64SumReason,
  uintReason,
} from './codec.js';

/** One guest memory region as the wire carries it. */
export interface MemoryRegion {
  /** Guest-physical address of the first byte. */
  readonly guestPhysAddr: bigint;
  /** Size in bytes. */
  readonly memorySize: bigint;
  /** Front-end user address (QVA) of the first byte; equals the GPA with GPA_ADDRESSES. */
  readonly userspaceAddr: bigint;
  /** Offset of the region in the fd sent with it. */
  readonly mmapOffset: bigint;
  /** XEN_MMAP only: bit 0 foreign, bit 1 grant, bit 8 map on demand. */
  readonly xenMmapFlags?: number;
  /** XEN_MMAP only: the Xen domain id. */
  readonly domid?: number;
}

/** Bytes of a region without XEN_MMAP. */
export const REGION_SIZE = 32;
/** Bytes of a region with XEN_MMAP. */
export const XEN_REGION_SIZE = 40;
/** Body size of ADD_MEM_REG / REM_MEM_REG without XEN_MMAP. */
export const SIZE = 8 + REGION_SIZE;
/** Body size of ADD_MEM_REG / REM_MEM_REG with XEN_MMAP. */
export const XEN_SIZE = 8 + XEN_REGION_SIZE;

/** XEN_MMAP `xen_mmap_flags` bits. */
export const XenMmapFlag = { FOREIGN: 0x1, GRANT: 0x2, MAP_ON_DEMAND: 0x100 } as const;

/** Reads one region at `offset` of `v`; the caller has checked the bounds. */
export function readRegion(v: DataView, offset: number, xen: boolean): MemoryRegion {
  const r = {
    guestPhysAddr: v.getBigUint64(offset, HOST_LITTLE_ENDIAN),
    memorySize: v.getBigUint64(offset + 8, HOST_LITTLE_ENDIAN),
    userspaceAddr: v.getBigUint64(offset + 16, HOST_LITTLE_ENDIAN),
    mmapOffset: v.getBigUint64(offset + 24, HOST_LITTLE_ENDIAN),
  };
  if (!xen) return r;
  return { ...r, xenMmapFlags: v.getUint32(offset + 32, HOST_LITTLE_ENDIAN), domid: v.getUint32(offset + 36, HOST_LITTLE_ENDIAN) };
}

/** Writes one region at `offset` of `v` (XEN fields default to 0). */
export function writeRegion(v: DataView, offset: number, r: MemoryRegion, xen: boolean): void {
  v.setBigUint64(offset, r.guestPhysAddr, HOST_LITTLE_ENDIAN);
  v.setBigUint64(offset + 8, r.memorySize, HOST_LITTLE_ENDIAN);
  v.setBigUint64(offset + 16, r.userspaceAddr, HOST_LITTLE_ENDIAN);
  v.setBigUint64(offset + 24, r.mmapOffset, HOST_LITTLE_ENDIAN);
  if (xen) {
    v.setUint32(offset + 32, (r.xenMmapFlags ?? 0) >>> 0, HOST_LITTLE_ENDIAN);
    v.setUint32(offset + 36, (r.domid ?? 0) >>> 0, HOST_LITTLE_ENDIAN);
  }
}

/**
 * Syntax check of one region: u64 fields, non-zero size, and no u64 wrap-around of
 * `gpa + size`, `userspace + size` or `mmap_offset + size` (VU-MEM-010).
 */
export function validateRegion(r: MemoryRegion): string | undefined {
  const types = firstReason(
    u64Reason('guestPhysAddr', r.guestPhysAddr),
    u64Reason('memorySize', r.memorySize),
    u64Reason('userspaceAddr', r.userspaceAddr),
    u64Reason('mmapOffset', r.mmapOffset),
    r.xenMmapFlags === undefined ? undefined : uintReason('xenMmapFlags', r.xenMmapFlags, 32),
    r.domid === undefined ? undefined : uintReason('domid', r.domid, 32),
  );
  if (types !== undefined) return types;
  return firstReason(
    r.memorySize === 0n ? 'memorySize is 0' : undefined,
    u64SumReason('guestPhysAddr + memorySize', r.guestPhysAddr, r.memorySize),
    u64SumReason('userspaceAddr + memorySize', r.userspaceAddr, r.memorySize),
    u64SumReason('mmapOffset + memorySize', r.mmapOffset, r.memorySize),
  );
}

/** The ADD_MEM_REG / REM_MEM_REG payload: padding and one region. */
export interface SingleMemoryRegion {
  /** The region. */
  readonly region: MemoryRegion;
}

function decodeWith(bytes: Uint8Array, xen: boolean): SingleMemoryRegion {
  expectSize('mem-region', bytes, xen ? XEN_SIZE : SIZE);
  // Bytes 0–7 are padding: ignored on decode, written as zero.
  return { region: readRegion(viewOf(bytes), 8, xen) };
}

function encodeWith(value: SingleMemoryRegion, xen: boolean): Uint8Array {
  const out = new Uint8Array(xen ? XEN_SIZE : SIZE);
  writeRegion(viewOf(out), 8, value.region, xen);
  return out;
}

/** Decodes the 40-byte body. */
export const decode = (bytes: Uint8Array): SingleMemoryRegion => decodeWith(bytes, false);
/** Encodes `value` as 40 bytes (XEN fields dropped). */
export const encode = (value: SingleMemoryRegion): Uint8Array => encodeWith(value, false);
/** Decodes the 48-byte XEN_MMAP body. */
export const decodeXen = (bytes: Uint8Array): SingleMemoryRegion => decodeWith(bytes, true);
/** Encodes `value` as 48 bytes (XEN_MMAP). */
export const encodeXen = (value: SingleMemoryRegion): Uint8Array => encodeWith(value, true);
/** Reason when the region is not well formed. */
export const validate = (value: SingleMemoryRegion): string | undefined => validateRegion(value.region);

/** The single-region codec (no XEN_MMAP). */
export const codec: PayloadCodec<SingleMemoryRegion> = {
  family: 'mem-region', minSize: SIZE, maxSize: SIZE, decode, encode, validate, describe: describeValue,
};

/** The single-region codec with XEN_MMAP's 40-byte region. */
export const xenCodec: PayloadCodec<SingleMemoryRegion> = {
  family: 'mem-region', minSize: XEN_SIZE, maxSize: XEN_SIZE, decode: decodeXen, encode: encodeXen, validate, describe: describeValue,
};

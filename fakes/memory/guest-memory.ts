/**
 * Guest memory as both sides of vhost-user see it (vhost-user.rst "Memory access"): a set of
 * regions, each with a guest-physical address (GPA), a size, the front-end's user address (QVA)
 * and an offset into the backing file. Descriptor addresses are GPAs; ring addresses in
 * SET_VRING_ADDR are QVAs (without ACCESS_PLATFORM / GPA_ADDRESSES).
 *
 * Addresses are JavaScript numbers: every address this project places is below 2^53. Values that
 * come off the wire (u64, untrusted) go through {@link GuestMemory.checkedSlice}, which takes a
 * bigint and rejects anything that does not fit.
 * @module
 */

/** One region of guest memory. */
export interface GuestRegion {
  /** Guest-physical address of the first byte. */
  readonly guestPhysAddr: number;
  /** Size in bytes. */
  readonly size: number;
  /** The front-end's virtual address of the first byte (QVA). */
  readonly userAddr: number;
  /** Offset of the first byte in the backing file (memfd). */
  readonly mmapOffset: number;
  /** The backing memfd, when the region is file-backed (sent with SET_MEM_TABLE / ADD_MEM_REG). */
  readonly fd?: number;
  /**
   * The region's bytes. SAFETY: for memfd-backed regions this is a view over shared memory that
   * the peer reads and writes concurrently; ring code orders its stores as documented there.
   */
  readonly bytes: Uint8Array;
}

/** Reading and writing guest memory by guest-physical address, with bounds checks. */
export interface GuestMemory {
  /** The regions, sorted by guest-physical address. */
  readonly regions: readonly GuestRegion[];
  /**
   * A view (not a copy) of `[gpa, gpa + len)`. Throws {@link GuestMemoryError} unless the whole
   * range lies inside one region.
   */
  slice(gpa: number, len: number): Uint8Array;
  /** Like {@link slice} for an untrusted u64 address: also rejects values ≥ 2^53 and overflow. */
  checkedSlice(gpa: bigint, len: number): Uint8Array;
  /** Copies `len` bytes out of guest memory. */
  read(gpa: number, len: number): Uint8Array;
  /** Copies `data` into guest memory. */
  write(gpa: number, data: Uint8Array): void;
  readU16(gpa: number): number;
  readU32(gpa: number): number;
  readU64(gpa: number): bigint;
  writeU16(gpa: number, value: number): void;
  writeU32(gpa: number, value: number): void;
  writeU64(gpa: number, value: bigint): void;
  /** Translates a front-end user address (QVA) to a GPA; throws {@link GuestMemoryError} if unmapped. */
  userToGpa(uva: number): number;
  /** Translates a GPA to the front-end user address (QVA); throws {@link GuestMemoryError} if unmapped. */
  gpaToUser(gpa: number): number;
}

/**
 * Why a {@link GuestMemoryError} was thrown. Stable strings: conformance cases and the back-end's
 * NACK detail quote them.
 */
export const GuestMemoryErrorReason = {
  /** The address is not inside any region. */
  UNMAPPED: 'unmapped',
  /** The address is mapped but the range runs past the end of its region into unmapped space. */
  OUT_OF_BOUNDS: 'out-of-bounds',
  /** The range starts in one region and continues into an adjacent one (never one view). */
  CROSS_REGION: 'cross-region',
  /** Not a non-negative integer, or beyond 2^53 (the project's address limit). */
  BAD_ADDRESS: 'bad-address',
  /** `gpa + size`, `userAddr + size` or `mmapOffset + size` overflows 2^64. */
  OVERFLOW: 'overflow',
  /** A region of size 0. */
  ZERO_SIZE: 'zero-size',
  /** Two regions overlap in guest-physical space. */
  OVERLAP_GPA: 'overlap-gpa',
  /** Two regions overlap in the front-end's address space. */
  OVERLAP_USER: 'overlap-user',
  /** `mmapOffset + size` is beyond the end of the backing file. */
  BEYOND_FILE: 'beyond-file',
  /** mmap (or memfd creation) failed; `cause` holds the NativeError. */
  MAP_FAILED: 'map-failed',
  /** A region to remove was not found. */
  NO_SUCH_REGION: 'no-such-region',
  /** A ring or typed view needs an alignment the backing buffer does not give. */
  MISALIGNED: 'misaligned',
  /** The bump allocator has no room left. */
  EXHAUSTED: 'exhausted',
  /** The memory was closed (unmapped). */
  CLOSED: 'closed',
} as const;
/** Union of {@link GuestMemoryErrorReason} values. */
export type GuestMemoryErrorReason = (typeof GuestMemoryErrorReason)[keyof typeof GuestMemoryErrorReason];

/** An access outside every region, across a region boundary, or an invalid region layout. */
export class GuestMemoryError extends Error {
  override readonly name = 'GuestMemoryError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_GUEST_MEMORY';
  constructor(
    message: string,
    /** The offending address (as given). */
    readonly address: bigint,
    /** The length that was asked for. */
    readonly length: number,
    /** Machine-readable reason. */
    readonly reason: GuestMemoryErrorReason = GuestMemoryErrorReason.OUT_OF_BOUNDS,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Type guard for {@link GuestMemoryError}. */
export const isGuestMemoryError = (e: unknown): e is GuestMemoryError => e instanceof GuestMemoryError;

/**
 * How a test or the fake front-end asks for a region. Omitted fields get the implementation's
 * defaults (see {@link DEFAULT_USER_ADDR_BASE} in region-table.ts: by default QVA ≠ GPA).
 */
export interface GuestRegionSpec {
  /** Guest-physical address of the first byte. */
  readonly guestPhysAddr: number;
  /** Size in bytes (> 0). */
  readonly size: number;
  /** Front-end user address; default `0x7f00_0000_0000 + guestPhysAddr`. */
  readonly userAddr?: number;
  /** Offset of the region inside its backing file. */
  readonly mmapOffset?: number;
}

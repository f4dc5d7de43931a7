/**
 * The back-end's view of guest memory, built from the regions and fds received in
 * SET_MEM_TABLE / ADD_MEM_REG (vhost-user.rst "Memory access", "Memory region description").
 *
 * SECURITY: every field comes from an untrusted front-end. Before anything is mapped this module
 * rejects size 0, `gpa + size` / `userAddr + size` / `mmapOffset + size` overflowing 2^64,
 * addresses the project cannot represent (≥ 2^53), overlapping GPA or user ranges (VU-MEM-014)
 * and `mmapOffset + size` beyond the end of the file (VU-MEM-010): mapping past EOF would
 * succeed and the first access would kill the process with SIGBUS.
 * @module
 */

import { fstatSync } from 'node:fs';
import { closeFd, mmapShared } from '../../native/index.js';
import type { Mapping } from '../../native/index.js';
import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import type { GuestRegion } from './guest-memory.js';
import { MAX_ADDRESS, RegionTableMemory, checkRegionLayout } from './region-table.js';

/** A region as received on the wire (u64 fields) with its fd. */
export interface ReceivedRegion {
  readonly guestPhysAddr: bigint;
  readonly size: bigint;
  readonly userAddr: bigint;
  readonly mmapOffset: bigint;
  /** The fd that came with the region (SCM_RIGHTS). */
  readonly fd: number;
}

/** Which region REM_MEM_REG removes: matched by GPA, user address and size; mmap_offset is ignored (VU-MEM-013). */
export interface RegionMatch {
  readonly guestPhysAddr: bigint;
  readonly userAddr: bigint;
  readonly size: bigint;
}

const U64_LIMIT = 1n << 64n;
const MAX = BigInt(MAX_ADDRESS);

interface Mapped {
  readonly region: GuestRegion;
  readonly mapping: Mapping;
}

const reject = (message: string, r: ReceivedRegion, reason: GuestMemoryErrorReason, cause?: unknown): never => {
  const length = r.size <= MAX ? Number(r.size) : -1;
  throw new GuestMemoryError(message, r.guestPhysAddr, length, reason, cause === undefined ? undefined : { cause });
};

/** Syntax checks on one received region (no file access). */
function checkReceived(r: ReceivedRegion): void {
  if (!Number.isSafeInteger(r.fd) || r.fd < 0) reject(`region fd ${String(r.fd)} is not a file descriptor`, r, GuestMemoryErrorReason.MAP_FAILED);
  for (const [field, v] of [
    ['guest_phys_addr', r.guestPhysAddr],
    ['memory_size', r.size],
    ['userspace_addr', r.userAddr],
    ['mmap_offset', r.mmapOffset],
  ] as const) {
    if (v < 0n || v >= U64_LIMIT) reject(`${field} ${v} is not a u64`, r, GuestMemoryErrorReason.BAD_ADDRESS);
  }
  if (r.size === 0n) reject('memory_size is 0', r, GuestMemoryErrorReason.ZERO_SIZE);
  for (const [field, v] of [
    ['guest_phys_addr', r.guestPhysAddr],
    ['userspace_addr', r.userAddr],
    ['mmap_offset', r.mmapOffset],
  ] as const) {
    if (v + r.size > U64_LIMIT) reject(`${field} 0x${v.toString(16)} + memory_size 0x${r.size.toString(16)} overflows 2^64`, r, GuestMemoryErrorReason.OVERFLOW);
    if (v + r.size > MAX) reject(`${field} 0x${v.toString(16)} + memory_size 0x${r.size.toString(16)} passes 2^53, beyond what vhostlab maps`, r, GuestMemoryErrorReason.BAD_ADDRESS);
  }
}

/** Maps one checked region; closes nothing (the caller owns the fd on failure). */
function mapOne(r: ReceivedRegion): Mapped {
  const fileSize = r.mmapOffset + r.size;
  let stSize: number;
  try {
    stSize = fstatSync(r.fd).size;
  } catch (e) {
    return reject(`fstat on region fd ${r.fd} failed: ${e instanceof Error ? e.message : String(e)}`, r, GuestMemoryErrorReason.MAP_FAILED, e);
  }
  if (fileSize > BigInt(stSize)) {
    reject(`mmap_offset + memory_size = 0x${fileSize.toString(16)} is beyond the end of the file (0x${stSize.toString(16)} bytes)`, r, GuestMemoryErrorReason.BEYOND_FILE);
  }
  let mapping: Mapping;
  try {
    // From offset 0 (mmap offsets must be page-aligned, mmap_offset need not be), as
    // libvhost-user does.
    mapping = mmapShared(r.fd, Number(fileSize), 0);
  } catch (e) {
    return reject(`mmap of region fd ${r.fd} (0x${fileSize.toString(16)} bytes) failed: ${e instanceof Error ? e.message : String(e)}`, r, GuestMemoryErrorReason.MAP_FAILED, e);
  }
  const off = Number(r.mmapOffset);
  const size = Number(r.size);
  return {
    mapping,
    region: {
      guestPhysAddr: Number(r.guestPhysAddr),
      size,
      userAddr: Number(r.userAddr),
      mmapOffset: off,
      fd: r.fd,
      // SAFETY: view over MAP_SHARED memory the front-end writes concurrently. Device code
      // reads each descriptor field once (VU-DP-015). After close()/removeRegion() the native
      // layer leaves zero pages behind it, so a stale view reads zeros rather than faulting.
      bytes: new Uint8Array(mapping.buffer, off, size),
    },
  };
}

const closeQuietly = (fd: number): void => {
  try {
    closeFd(fd);
  } catch {
    // Already closed or never valid: nothing left to release.
  }
};

/**
 * Guest memory as a back-end maps it from received regions.
 *
 * OWNERSHIP: {@link map} and {@link addRegion} take ownership of every fd passed to them,
 * whether they succeed or throw: on failure they close them; on success the fd stays open
 * (as `region.fd`) until {@link removeRegion} or {@link close}. Callers never close these fds.
 */
export class MappedGuestMemory extends RegionTableMemory {
  #mapped: Mapped[] = [];
  #closed = false;

  private constructor() {
    super();
  }

  /**
   * Validates and maps a whole table (SET_MEM_TABLE). Throws {@link GuestMemoryError} whose
   * `reason` says what was wrong; all fds are closed and nothing stays mapped on failure.
   */
  static map(regions: readonly ReceivedRegion[]): MappedGuestMemory {
    const mem = new MappedGuestMemory();
    mem.#addAll(regions);
    return mem;
  }

  /** Validates and maps one more region (ADD_MEM_REG). Same checks and fd ownership as {@link map}. */
  addRegion(region: ReceivedRegion): void {
    this.#addAll([region]);
  }

  /**
   * Unmaps the region matching GPA, user address and size (mmap_offset ignored) and closes its
   * fd (REM_MEM_REG, VU-MEM-013). Throws {@link GuestMemoryError} `no-such-region` otherwise.
   * Views into the region obtained earlier then read zeros (never the front-end's memory).
   */
  removeRegion(match: RegionMatch): void {
    const i = this.#mapped.findIndex(
      (m) =>
        BigInt(m.region.guestPhysAddr) === match.guestPhysAddr &&
        BigInt(m.region.userAddr) === match.userAddr &&
        BigInt(m.region.size) === match.size,
    );
    if (i < 0) {
      throw new GuestMemoryError(
        `no region with GPA 0x${match.guestPhysAddr.toString(16)}, user address 0x${match.userAddr.toString(16)}, size 0x${match.size.toString(16)}`,
        match.guestPhysAddr,
        match.size <= MAX ? Number(match.size) : -1,
        GuestMemoryErrorReason.NO_SUCH_REGION,
      );
    }
    const [removed] = this.#mapped.splice(i, 1);
    this.setRegions(this.#mapped.map((m) => m.region));
    removed.mapping.unmap();
    // Two regions may share one fd number only if the caller passed it twice; close it once.
    if (!this.#mapped.some((m) => m.region.fd === removed.region.fd)) closeQuietly(removed.region.fd ?? -1);
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Unmaps every region and closes every fd. Idempotent. Earlier views then read zeros. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const mapped = this.#mapped;
    this.#mapped = [];
    this.setRegions([]);
    for (const m of mapped) m.mapping.unmap();
    for (const fd of new Set(mapped.map((m) => m.region.fd ?? -1))) closeQuietly(fd);
  }

  #addAll(regions: readonly ReceivedRegion[]): void {
    const added: Mapped[] = [];
    try {
      if (this.#closed) {
        throw new GuestMemoryError('guest memory is closed', regions[0]?.guestPhysAddr ?? 0n, 0, GuestMemoryErrorReason.CLOSED);
      }
      for (const r of regions) checkReceived(r);
      // Overlap among the new regions and with the ones already mapped, before mapping.
      checkRegionLayout([
        ...this.#mapped.map((m) => m.region),
        ...regions.map((r) => ({
          guestPhysAddr: Number(r.guestPhysAddr),
          size: Number(r.size),
          userAddr: Number(r.userAddr),
          mmapOffset: Number(r.mmapOffset),
        })),
      ]);
      for (const r of regions) added.push(mapOne(r));
    } catch (e) {
      for (const m of added) m.mapping.unmap();
      // OWNERSHIP: every fd handed to us is ours to close on failure, mapped or not.
      for (const fd of new Set(regions.map((r) => r.fd))) {
        if (!this.#mapped.some((m) => m.region.fd === fd)) closeQuietly(fd);
      }
      throw e;
    }
    this.#mapped.push(...added);
    this.setRegions(this.#mapped.map((m) => m.region));
  }
}

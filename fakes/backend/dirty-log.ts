/**
 * The dirty-page log of SET_LOG_BASE (vhost-user.rst "Migration"; CHECKLIST §3.7, VU-MIG-*):
 * one bit per 4 KiB page of guest-physical memory, bit `(gpa/4096) % 8` of byte `(gpa/4096) / 8`,
 * set with an atomic OR so bits the front-end (or another ring) set are never cleared (MIG-005),
 * and never written past `mmap_size` (MIG-006).
 *
 * SECURITY: size and offset come from the front-end; they are checked against the file's real
 * size before mapping (a mapping past EOF would SIGBUS on first touch, VU-MIG-002).
 * @module
 */
import { fstatSync } from 'node:fs';
import { mmapShared, type Mapping } from '../../native/index.js';
import { VHOST_LOG_PAGE } from '../wire/index.js';

/** Largest log accepted: 256 MiB of bitmap covers 8 TiB of guest memory. */
export const MAX_LOG_SIZE = 256 * 1024 * 1024;

/** Why a log could not be mapped. */
export class DirtyLogError extends Error {
  override readonly name = 'DirtyLogError';
  /** Stable error code. */
  readonly code = 'VHU_ERR_DIRTY_LOG';
}

/** A mapped dirty log. */
export class DirtyLog {
  private constructor(
    private readonly mapping: Mapping,
    /** The bitmap (a view over the front-end's shared memory). */
    readonly bits: Uint8Array,
  ) {}

  /**
   * Maps `size` bytes at `offset` of `fd`. OWNERSHIP: does not take `fd` (the caller closes it;
   * the mapping stays valid after). Throws {@link DirtyLogError} on a bad geometry.
   */
  static map(fd: number, size: bigint, offset: bigint): DirtyLog {
    if (size === 0n || size > BigInt(MAX_LOG_SIZE)) throw new DirtyLogError(`log size ${size} outside 1..${MAX_LOG_SIZE}`);
    const end = offset + size;
    if (end > BigInt(Number.MAX_SAFE_INTEGER)) throw new DirtyLogError(`log offset 0x${offset.toString(16)} + size overflows`);
    let fileSize: number;
    try {
      fileSize = fstatSync(fd).size;
    } catch (e) {
      throw new DirtyLogError(`fstat on log fd failed: ${(e as Error).message}`);
    }
    if (end > BigInt(fileSize)) throw new DirtyLogError(`log offset + size 0x${end.toString(16)} is beyond the file (0x${fileSize.toString(16)} bytes)`);
    let mapping: Mapping;
    try {
      // From 0: mmap offsets must be page-aligned, the log offset need not be.
      mapping = mmapShared(fd, Number(end), 0);
    } catch (e) {
      throw new DirtyLogError(`mmap of the log failed: ${(e as Error).message}`);
    }
    // SAFETY: a view over the front-end's MAP_SHARED log; we only ever OR bits into it.
    return new DirtyLog(mapping, new Uint8Array(mapping.buffer, Number(offset), Number(size)));
  }

  /** Sets the bits of every page `[gpa, gpa + len)` touches; pages past the log are ignored. */
  markRange(gpa: number, len: number): void {
    if (len <= 0) return;
    const first = Math.floor(gpa / VHOST_LOG_PAGE);
    const last = Math.floor((gpa + len - 1) / VHOST_LOG_PAGE);
    const bits = this.bits;
    for (let p = first; p <= last; p++) {
      const byte = Math.floor(p / 8);
      if (byte >= bits.length) return;
      Atomics.or(bits, byte, 1 << (p % 8));
    }
  }

  /** Unmaps the log. Idempotent. */
  close(): void {
    this.mapping.unmap();
  }
}

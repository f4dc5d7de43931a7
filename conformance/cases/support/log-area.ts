/**
 * A dirty-log area as a front-end hands it over with SET_LOG_BASE (vhost-user.rst "Migration"):
 * a memfd holding `size` bytes of bitmap at `offset`, with canary bytes before the offset and
 * after the end, so a case can see bits the back-end set, bits it cleared, and writes outside the
 * log (VU-MIG-003/005/006).
 * @module
 */
import { VHOST_LOG_PAGE } from '../../../fakes/wire/index.js';
import { closeFd, memfdCreate, mmapShared, type Mapping } from '../../../native/index.js';

/** The byte every canary position holds. */
export const LOG_CANARY = 0x5a;

/** A mapped log memfd: `[0, offset)` and `[offset + size, fileSize)` are canaries. */
export class LogArea {
  private closed = false;

  private constructor(
    /** The memfd to attach to SET_LOG_BASE (owned here; sendmsg duplicates it). */
    readonly fd: number,
    private readonly mapping: Mapping,
    /** Offset of the bitmap in the file (mmap_offset). */
    readonly offset: number,
    /** Bitmap bytes (mmap_size). */
    readonly size: number,
    /** Canary bytes after the bitmap. */
    readonly tail: number,
  ) {}

  /** A log of `size` bytes at `offset`, followed by `tail` canary bytes; the bitmap starts zeroed. */
  static create(size: number, offset = 0, tail = 4096): LogArea {
    const total = offset + size + tail;
    const fd = memfdCreate('vhostlab-log', total);
    let mapping: Mapping;
    try {
      mapping = mmapShared(fd, total, 0);
    } catch (err) {
      closeFd(fd);
      throw err;
    }
    const area = new LogArea(fd, mapping, offset, size, tail);
    const all = area.file();
    all.fill(LOG_CANARY, 0, offset);
    all.fill(LOG_CANARY, offset + size);
    return area;
  }

  /** Bytes of bitmap that cover guest-physical memory up to `endGpa`, in whole u64 words (as QEMU sizes it). */
  static sizeFor(endGpa: number): number {
    const pages = Math.ceil(endGpa / VHOST_LOG_PAGE);
    return Math.ceil(pages / 64) * 8;
  }

  /** The whole file, canaries included. */
  file(): Uint8Array {
    return new Uint8Array(this.mapping.buffer, 0, this.offset + this.size + this.tail);
  }

  /** The bitmap. */
  bits(): Uint8Array {
    return new Uint8Array(this.mapping.buffer, this.offset, this.size);
  }

  /** Whether the bit of the page holding `gpa` is set (bit `page % 8` of byte `page / 8`). */
  pageBit(gpa: number): boolean {
    const page = Math.floor(gpa / VHOST_LOG_PAGE);
    const byte = Math.floor(page / 8);
    return byte < this.size && (this.bits()[byte]! & (1 << (page % 8))) !== 0;
  }

  /** Clears the bits of every page `[gpa, gpa + len)` touches. */
  clearRange(gpa: number, len: number): void {
    const bits = this.bits();
    for (let p = Math.floor(gpa / VHOST_LOG_PAGE); p <= Math.floor((gpa + len - 1) / VHOST_LOG_PAGE); p++) {
      const byte = Math.floor(p / 8);
      if (byte < bits.length) bits[byte] = bits[byte]! & ~(1 << (p % 8));
    }
  }

  /** Where a canary byte changed, or undefined: `before` (under the offset) or `after` the log. */
  canaryDamage(): string | undefined {
    const all = this.file();
    for (let i = 0; i < this.offset; i++) {
      if (all[i] !== LOG_CANARY) return `file byte ${i} (before mmap_offset ${this.offset}) is 0x${all[i]!.toString(16)}`;
    }
    for (let i = this.offset + this.size; i < all.length; i++) {
      if (all[i] !== LOG_CANARY) return `file byte ${i} (${i - this.offset - this.size} past the end of the ${this.size}-byte log) is 0x${all[i]!.toString(16)}`;
    }
    return undefined;
  }

  /** Unmaps and closes. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapping.unmap();
    closeFd(this.fd);
  }
}

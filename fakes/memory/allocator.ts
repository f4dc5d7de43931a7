/**
 * A bump allocator over guest memory: places rings, indirect tables and packet buffers at
 * guest-physical addresses. Nothing is ever freed one by one; {@link GuestAllocator.reset}
 * starts over. Allocations never straddle two regions, because a back-end may map adjacent
 * GPA regions at unrelated host addresses (VU-MEM-009).
 * @module
 */

import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import type { GuestMemory } from './guest-memory.js';

/** Options of {@link GuestAllocator}. */
export interface GuestAllocatorOptions {
  /** Lowest GPA to hand out (default: start of the first region). */
  readonly start?: number;
  /** One past the highest GPA to hand out (default: end of the last region). */
  readonly end?: number;
}

const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Bump allocator handing out GPAs inside the regions of a {@link GuestMemory}. */
export class GuestAllocator {
  readonly #ranges: { start: number; end: number }[];
  #range = 0;
  #next: number;
  #allocated = 0;

  /**
   * @param mem - the memory whose regions are carved up (read once: regions added later are
   *   not used).
   */
  constructor(
    readonly mem: GuestMemory,
    options: GuestAllocatorOptions = {},
  ) {
    const lo = options.start ?? 0;
    const hi = options.end ?? Number.MAX_SAFE_INTEGER;
    this.#ranges = mem.regions
      .map((r) => ({ start: Math.max(r.guestPhysAddr, lo), end: Math.min(r.guestPhysAddr + r.size, hi) }))
      .filter((r) => r.start < r.end);
    this.#next = this.#ranges[0]?.start ?? 0;
  }

  /**
   * Returns the GPA of `size` fresh bytes aligned to `align` (a power of two), inside one
   * region. The bytes are not cleared. Throws {@link GuestMemoryError} `exhausted` when no
   * region has room.
   */
  alloc(size: number, align = 8): number {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`allocation size ${size} is not a positive integer`);
    if (!isPowerOfTwo(align)) throw new RangeError(`alignment ${align} is not a power of two`);
    while (this.#range < this.#ranges.length) {
      const r = this.#ranges[this.#range];
      const at = Math.ceil(Math.max(this.#next, r.start) / align) * align;
      if (at + size <= r.end) {
        this.#next = at + size;
        this.#allocated += size;
        return at;
      }
      this.#range++;
      this.#next = this.#ranges[this.#range]?.start ?? this.#next;
    }
    throw new GuestMemoryError(
      `guest allocator exhausted: no region has ${size} bytes aligned to ${align} left`,
      BigInt(this.#next),
      size,
      GuestMemoryErrorReason.EXHAUSTED,
    );
  }

  /** Like {@link alloc} and zero-fills the bytes (guest memory is reused across runs). */
  allocZeroed(size: number, align = 8): number {
    const gpa = this.alloc(size, align);
    this.mem.slice(gpa, size).fill(0);
    return gpa;
  }

  /** Bytes handed out so far (excluding alignment padding). */
  get allocated(): number {
    return this.#allocated;
  }

  /** Bytes still free in the current and later regions (ignoring alignment). */
  get remaining(): number {
    let n = 0;
    for (let i = this.#range; i < this.#ranges.length; i++) {
      const r = this.#ranges[i];
      n += r.end - (i === this.#range ? Math.max(this.#next, r.start) : r.start);
    }
    return n;
  }

  /** Forgets every allocation. Earlier GPAs may be handed out again. */
  reset(): void {
    this.#range = 0;
    this.#next = this.#ranges[0]?.start ?? 0;
    this.#allocated = 0;
  }
}

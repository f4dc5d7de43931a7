/**
 * The logic the three {@link GuestMemory} implementations share: region lookup (cached last hit,
 * then binary search), bounds checks, little-endian accessors and QVA↔GPA translation
 * (vhost-user.rst "Memory access"; CHECKLIST VU-MEM-003/004). Subclasses only decide where the
 * bytes come from (ArrayBuffer, memfd they create, memfd they received).
 * @module
 */

import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import type { GuestMemory, GuestRegion } from './guest-memory.js';

/** Largest address or size this project handles as a `number` (see guest-memory.ts). */
export const MAX_ADDRESS = Number.MAX_SAFE_INTEGER;

/**
 * Default distance between a region's GPA and its front-end user address (QVA) when a spec
 * gives none: `userAddr = DEFAULT_USER_ADDR_BASE + guestPhysAddr`. It looks like a typical
 * x86-64 mmap address, and because QVA ≠ GPA a back-end that resolves ring addresses via GPAs
 * (or descriptor addresses via QVAs) reads unmapped memory instead of the right bytes
 * (VU-MEM-004).
 */
export const DEFAULT_USER_ADDR_BASE = 0x7f00_0000_0000;

/** A region as the table stores it: the public fields plus cached bounds and a DataView. */
interface TableEntry {
  readonly region: GuestRegion;
  readonly gpa: number;
  readonly end: number;
  readonly user: number;
  readonly userEnd: number;
  readonly view: DataView;
}

const toEntry = (region: GuestRegion): TableEntry => ({
  region,
  gpa: region.guestPhysAddr,
  end: region.guestPhysAddr + region.size,
  user: region.userAddr,
  userEnd: region.userAddr + region.size,
  view: new DataView(region.bytes.buffer, region.bytes.byteOffset, region.bytes.byteLength),
});

const fail = (message: string, address: number | bigint, length: number, reason: GuestMemoryErrorReason): never => {
  // Addresses that are not integers (NaN, 1.5) cannot become bigints; record -1 for them.
  let addr: bigint;
  if (typeof address === 'bigint') addr = address;
  else addr = Number.isSafeInteger(address) ? BigInt(address) : -1n;
  throw new GuestMemoryError(message, addr, length, reason);
};

const hex = (n: number): string => (Number.isFinite(n) ? `0x${n.toString(16)}` : String(n));

/**
 * Checks that a set of regions is usable together: positive sizes, addresses and ends below
 * 2^53, no overlap in GPA space nor in user-address space. Throws {@link GuestMemoryError}.
 */
export function checkRegionLayout(
  regions: readonly { guestPhysAddr: number; size: number; userAddr: number; mmapOffset: number }[],
): void {
  for (const r of regions) {
    for (const [field, v] of [
      ['guestPhysAddr', r.guestPhysAddr],
      ['size', r.size],
      ['userAddr', r.userAddr],
      ['mmapOffset', r.mmapOffset],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        fail(`region ${field} ${String(v)} is not an integer in [0, 2^53)`, v, r.size, GuestMemoryErrorReason.BAD_ADDRESS);
      }
    }
    if (r.size === 0) fail(`region at GPA ${hex(r.guestPhysAddr)} has size 0`, r.guestPhysAddr, 0, GuestMemoryErrorReason.ZERO_SIZE);
    for (const v of [r.guestPhysAddr, r.userAddr, r.mmapOffset]) {
      if (v + r.size > MAX_ADDRESS) {
        fail(`region ${hex(v)} + ${hex(r.size)} passes 2^53`, v, r.size, GuestMemoryErrorReason.OVERFLOW);
      }
    }
  }
  checkNoOverlap(regions, (r) => r.guestPhysAddr, GuestMemoryErrorReason.OVERLAP_GPA);
  checkNoOverlap(regions, (r) => r.userAddr, GuestMemoryErrorReason.OVERLAP_USER);
}

function checkNoOverlap<R extends { size: number }>(
  regions: readonly R[],
  start: (r: R) => number,
  reason: GuestMemoryErrorReason,
): void {
  const sorted = [...regions].sort((a, b) => start(a) - start(b));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (start(prev) + prev.size > start(cur)) {
      const space = reason === GuestMemoryErrorReason.OVERLAP_GPA ? 'guest-physical' : 'user';
      fail(
        `regions [${hex(start(prev))}, +${hex(prev.size)}) and [${hex(start(cur))}, +${hex(cur.size)}) overlap in ${space} space`,
        start(cur),
        cur.size,
        reason,
      );
    }
  }
}

/**
 * Base class: a {@link GuestMemory} over an ordered set of regions. Subclasses provide the
 * regions (each with its `bytes` view) and may replace them with {@link setRegions}.
 */
export abstract class RegionTableMemory implements GuestMemory {
  #entries: TableEntry[] = [];
  #regions: readonly GuestRegion[] = [];
  // The last region a GPA lookup hit: traffic touches the same region again and again.
  #lastGpa: TableEntry | undefined;
  #lastUser: TableEntry | undefined;

  /** The regions, sorted by guest-physical address. */
  get regions(): readonly GuestRegion[] {
    return this.#regions;
  }

  /** Replaces the region set (already validated by the subclass). Clears the lookup caches. */
  protected setRegions(regions: readonly GuestRegion[]): void {
    const sorted = [...regions].sort((a, b) => a.guestPhysAddr - b.guestPhysAddr);
    this.#regions = Object.freeze(sorted);
    this.#entries = sorted.map(toEntry);
    this.#lastGpa = undefined;
    this.#lastUser = undefined;
  }

  /** Finds the region holding `[gpa, gpa + len)`, or throws with the precise reason. */
  #locate(gpa: number, len: number): TableEntry {
    const c = this.#lastGpa;
    if (c !== undefined && gpa >= c.gpa && gpa + len <= c.end && Number.isInteger(gpa) && len >= 0 && Number.isInteger(len)) {
      return c;
    }
    return this.#locateSlow(gpa, len);
  }

  #locateSlow(gpa: number, len: number): TableEntry {
    if (!Number.isSafeInteger(gpa) || gpa < 0) fail(`address ${String(gpa)} is not an integer in [0, 2^53)`, gpa, len, GuestMemoryErrorReason.BAD_ADDRESS);
    if (!Number.isSafeInteger(len) || len < 0) fail(`length ${String(len)} is not a non-negative integer`, gpa, len, GuestMemoryErrorReason.BAD_ADDRESS);
    const entries = this.#entries;
    // Binary search for the last region starting at or below gpa.
    let lo = 0;
    let hi = entries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid].gpa <= gpa) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const e = found >= 0 ? entries[found] : undefined;
    if (e === undefined || gpa > e.end || (gpa === e.end && len > 0)) {
      return fail(`GPA ${hex(gpa)} is not in any region`, gpa, len, GuestMemoryErrorReason.UNMAPPED);
    }
    if (gpa + len > e.end) {
      const next = entries[found + 1];
      const reason = next !== undefined && next.gpa === e.end ? GuestMemoryErrorReason.CROSS_REGION : GuestMemoryErrorReason.OUT_OF_BOUNDS;
      return fail(
        `GPA range [${hex(gpa)}, +${hex(len)}) leaves region [${hex(e.gpa)}, ${hex(e.end)})`,
        gpa,
        len,
        reason,
      );
    }
    this.#lastGpa = e;
    return e;
  }

  #locateUser(uva: number): TableEntry {
    const c = this.#lastUser;
    if (c !== undefined && uva >= c.user && uva < c.userEnd && Number.isInteger(uva)) return c;
    if (!Number.isSafeInteger(uva) || uva < 0) fail(`user address ${String(uva)} is not an integer in [0, 2^53)`, uva, 0, GuestMemoryErrorReason.BAD_ADDRESS);
    // Few regions (≤ 8 in a table, a few hundred with ADD_MEM_REG): a scan is enough here.
    for (const e of this.#entries) {
      if (uva >= e.user && uva < e.userEnd) {
        this.#lastUser = e;
        return e;
      }
    }
    return fail(`user address ${hex(uva)} is not in any region`, uva, 0, GuestMemoryErrorReason.UNMAPPED);
  }

  /** @inheritDoc */
  slice(gpa: number, len: number): Uint8Array {
    const e = this.#locate(gpa, len);
    const off = gpa - e.gpa;
    return e.region.bytes.subarray(off, off + len);
  }

  /** @inheritDoc */
  checkedSlice(gpa: bigint, len: number): Uint8Array {
    if (typeof gpa !== 'bigint' || gpa < 0n || gpa > BigInt(MAX_ADDRESS)) {
      fail(`address ${String(gpa)} is not in [0, 2^53)`, typeof gpa === 'bigint' ? gpa : -1n, len, GuestMemoryErrorReason.BAD_ADDRESS);
    }
    if (!Number.isSafeInteger(len) || len < 0 || gpa + BigInt(len) > BigInt(MAX_ADDRESS)) {
      fail(`range ${String(gpa)} + ${String(len)} is not addressable`, gpa, len, GuestMemoryErrorReason.OVERFLOW);
    }
    return this.slice(Number(gpa), len);
  }

  /** @inheritDoc */
  read(gpa: number, len: number): Uint8Array {
    return this.slice(gpa, len).slice();
  }

  /** @inheritDoc */
  write(gpa: number, data: Uint8Array): void {
    this.slice(gpa, data.length).set(data);
  }

  /** @inheritDoc */
  readU16(gpa: number): number {
    const e = this.#locate(gpa, 2);
    return e.view.getUint16(gpa - e.gpa, true);
  }

  /** @inheritDoc */
  readU32(gpa: number): number {
    const e = this.#locate(gpa, 4);
    return e.view.getUint32(gpa - e.gpa, true);
  }

  /** @inheritDoc */
  readU64(gpa: number): bigint {
    const e = this.#locate(gpa, 8);
    return e.view.getBigUint64(gpa - e.gpa, true);
  }

  /** @inheritDoc */
  writeU16(gpa: number, value: number): void {
    const e = this.#locate(gpa, 2);
    e.view.setUint16(gpa - e.gpa, value, true);
  }

  /** @inheritDoc */
  writeU32(gpa: number, value: number): void {
    const e = this.#locate(gpa, 4);
    e.view.setUint32(gpa - e.gpa, value, true);
  }

  /** @inheritDoc */
  writeU64(gpa: number, value: bigint): void {
    const e = this.#locate(gpa, 8);
    e.view.setBigUint64(gpa - e.gpa, BigInt.asUintN(64, value), true);
  }

  /** @inheritDoc */
  userToGpa(uva: number): number {
    const e = this.#locateUser(uva);
    return e.gpa + (uva - e.user);
  }

  /** @inheritDoc */
  gpaToUser(gpa: number): number {
    const e = this.#locate(gpa, 1);
    return e.user + (gpa - e.gpa);
  }
}

/**
 * Guest memory layouts as a front-end announces them (SET_MEM_TABLE, ADD_MEM_REG / REM_MEM_REG;
 * CHECKLIST §3.5/§3.6, VU-MEM-*): sets of regions with guest-physical address, size, front-end
 * user address and offset in the memfd sent with each. Valid layouts are what QEMU sends (disjoint,
 * page-aligned, user address ≠ GPA, non-zero offsets); invalid ones carry one defect each —
 * overlapping or duplicated regions, size 0, u64 wrap-around of `gpa + size`, `uaddr + size` or
 * `offset + size`, an unaligned mmap offset, a size far beyond the file.
 * @module
 */
import fc from 'fast-check';
import type { MemoryRegion } from '../../fakes/wire/payloads/mem-region.js';
import { MAX_REGIONS } from '../../fakes/wire/payloads/memory-table.js';
import { U64_MAX, checkInt, mostly } from './_internals/numbers.js';

/** Page size the layouts align to. */
export const PAGE = 0x1000n;
/** Where front-end user addresses start (a 64-bit QEMU maps guest RAM up there). */
export const QVA_BASE = 0x7f00_0000_0000n;

/** Options of {@link memoryLayout}. */
export interface MemoryLayoutConstraints {
  /** Fewest regions, 0..8 (default 1). */
  readonly minRegions?: number;
  /** Most regions, 1..8 (default 4). */
  readonly maxRegions?: number;
  /** Largest region of a valid layout in pages, 1..4096 (default 64 = 256 KiB). */
  readonly maxPages?: number;
  /** Valid layouts per invalid one (default 6; 0 = invalid only). */
  readonly validWeight?: number;
}

/** The defects an invalid layout can carry (one each). */
export const LayoutDefect = {
  OVERLAP: 'overlap',
  DUPLICATE: 'duplicate',
  ZERO_SIZE: 'zero-size',
  GPA_WRAP: 'gpa-wrap',
  UADDR_WRAP: 'uaddr-wrap',
  OFFSET_WRAP: 'offset-wrap',
  UNALIGNED_OFFSET: 'unaligned-offset',
  HUGE_SIZE: 'huge-size',
} as const;
/** One of {@link LayoutDefect}. */
export type LayoutDefect = (typeof LayoutDefect)[keyof typeof LayoutDefect];

/** A valid layout of `n` regions: ascending disjoint GPAs, user addresses at a per-layout shift. */
function validLayout(min: number, max: number, maxPages: number): fc.Arbitrary<MemoryRegion[]> {
  const region = fc.record({ pages: fc.integer({ min: 1, max: maxPages }), gap: fc.integer({ min: 0, max: 16 }), offPages: fc.integer({ min: 0, max: 4 }) });
  return fc
    .record({ base: fc.integer({ min: 0, max: 0x4000 }), shift: fc.integer({ min: 1, max: 0x1000 }), regions: fc.array(region, { minLength: min, maxLength: max }) })
    .map(({ base, shift, regions }) => {
      let at = BigInt(base) * PAGE;
      return regions.map((r) => {
        at += BigInt(r.gap) * PAGE;
        const gpa = at;
        at += BigInt(r.pages) * PAGE;
        return { guestPhysAddr: gpa, memorySize: BigInt(r.pages) * PAGE, userspaceAddr: QVA_BASE + BigInt(shift) * PAGE + gpa, mmapOffset: BigInt(r.offPages) * PAGE };
      });
    });
}

/** Applies `defect` to region `i` (modulo the count) of `regions`. */
export function applyDefect(regions: readonly MemoryRegion[], defect: LayoutDefect, i: number): MemoryRegion[] {
  const out = regions.map((r) => ({ ...r }));
  if (out.length === 0) return out;
  const k = i % out.length;
  const r = out[k];
  const other = out[(k + 1) % out.length];
  switch (defect) {
    case 'overlap':
      out[k] = { ...r, guestPhysAddr: other.guestPhysAddr + (other.memorySize > PAGE ? PAGE : 0n) };
      break;
    case 'duplicate':
      out.splice(k, 0, { ...r });
      if (out.length > MAX_REGIONS) out.pop();
      break;
    case 'zero-size':
      out[k] = { ...r, memorySize: 0n };
      break;
    case 'gpa-wrap':
      out[k] = { ...r, guestPhysAddr: U64_MAX - PAGE + 1n };
      break;
    case 'uaddr-wrap':
      out[k] = { ...r, userspaceAddr: U64_MAX - PAGE + 1n };
      break;
    case 'offset-wrap':
      out[k] = { ...r, mmapOffset: U64_MAX - PAGE + 1n };
      break;
    case 'unaligned-offset':
      out[k] = { ...r, mmapOffset: r.mmapOffset + 8n };
      break;
    case 'huge-size':
      out[k] = { ...r, memorySize: 1n << 40n };
      break;
  }
  return out;
}

/** A memory layout: valid, or valid with one {@link LayoutDefect}. */
export function memoryLayout(constraints: MemoryLayoutConstraints = {}): fc.Arbitrary<MemoryRegion[]> {
  const min = constraints.minRegions ?? 1;
  const max = constraints.maxRegions ?? 4;
  const maxPages = constraints.maxPages ?? 64;
  const w = constraints.validWeight ?? 6;
  checkInt('minRegions', min, 0, MAX_REGIONS);
  checkInt('maxRegions', max, Math.max(1, min), MAX_REGIONS);
  checkInt('maxPages', maxPages, 1, 4096);
  checkInt('validWeight', w, 0, 1000);
  const valid = validLayout(min, max, maxPages);
  const invalid = fc
    .tuple(validLayout(Math.max(1, min), max, maxPages), fc.constantFrom(...Object.values(LayoutDefect)), fc.nat(7))
    .map(([l, d, i]) => applyDefect(l, d, i));
  return mostly(valid, invalid, w);
}

/** Layouts a well-behaved front-end could send: never carries a {@link LayoutDefect}. */
export function validMemoryLayout(constraints: Omit<MemoryLayoutConstraints, 'validWeight'> = {}): fc.Arbitrary<MemoryRegion[]> {
  const min = constraints.minRegions ?? 1;
  const max = constraints.maxRegions ?? 4;
  const maxPages = constraints.maxPages ?? 64;
  checkInt('minRegions', min, 0, MAX_REGIONS);
  checkInt('maxRegions', max, Math.max(1, min), MAX_REGIONS);
  checkInt('maxPages', maxPages, 1, 4096);
  return validLayout(min, max, maxPages);
}

/** Largest memfd the fuzzers create for one region (bytes). */
export const MAX_MEMFD_BYTES = 16 * 1024 * 1024;

/**
 * Size of the memfd sent with `r`: exactly `mmap_offset + size` when that is reasonable, else one
 * page (the region then lies about its file, which a back-end must notice before touching it).
 */
export function memfdSizeFor(r: MemoryRegion): number {
  const need = r.mmapOffset + r.memorySize;
  return need > 0n && need <= BigInt(MAX_MEMFD_BYTES) ? Number(need) : Number(PAGE);
}

/** True when the layout is one a well-behaved front-end could send (no defect). */
export function isValidLayout(regions: readonly MemoryRegion[]): boolean {
  const sorted = [...regions].sort((a, b) => (a.guestPhysAddr < b.guestPhysAddr ? -1 : 1));
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i];
    if (r.memorySize === 0n || r.mmapOffset % PAGE !== 0n) return false;
    for (const end of [r.guestPhysAddr + r.memorySize, r.userspaceAddr + r.memorySize, r.mmapOffset + r.memorySize]) if (end > U64_MAX) return false;
    if (r.mmapOffset + r.memorySize > BigInt(MAX_MEMFD_BYTES)) return false;
    if (i > 0 && sorted[i - 1].guestPhysAddr + sorted[i - 1].memorySize > r.guestPhysAddr) return false;
  }
  return true;
}

/**
 * The memory table of SET_MEM_TABLE (CHECKLIST §3.5): `0/4 nregions`, `4/4 padding`, then
 * `nregions` regions of 32 bytes (40 with XEN_MMAP), at most 8. QEMU sends only the used
 * entries (`8 + 32·n`), others the full 264-byte struct (D20): decode accepts any size from
 * `8 + 32·n` up to the full struct; encode writes the QEMU form unless asked to pad.
 * @module
 */
import { viewOf, HOST_LITTLE_ENDIAN } from '../byte-order.js';
import { MalformedMessageError } from '../errors.js';
import { type PayloadCodec, describeValue, expectSizeRange } from './codec.js';
import { type MemoryRegion, REGION_SIZE, XEN_REGION_SIZE, readRegion, validateRegion, writeRegion } from './mem-region.js';

/** Largest region count a table may hold (`VHOST_MEMORY_BASELINE_NREGIONS`). */
export const MAX_REGIONS = 8;
/** Bytes before the first region. */
export const TABLE_HEADER_SIZE = 8;
/** Smallest body: an empty table. */
export const MIN_SIZE = TABLE_HEADER_SIZE;
/** Largest body without XEN_MMAP: the full C struct. */
export const MAX_SIZE = TABLE_HEADER_SIZE + MAX_REGIONS * REGION_SIZE;
/** Largest body with XEN_MMAP. */
export const XEN_MAX_SIZE = TABLE_HEADER_SIZE + MAX_REGIONS * XEN_REGION_SIZE;

/** A memory table; `nregions` on the wire is `regions.length`. */
export interface MemoryTable {
  /** The regions, in the order of the fds that travel with them. */
  readonly regions: readonly MemoryRegion[];
}

/** Body size of a table with `n` regions in QEMU's form. */
export const tableSize = (n: number, xen = false): number => TABLE_HEADER_SIZE + n * (xen ? XEN_REGION_SIZE : REGION_SIZE);

function decodeWith(bytes: Uint8Array, xen: boolean): MemoryTable {
  const regionSize = xen ? XEN_REGION_SIZE : REGION_SIZE;
  expectSizeRange('memory-table', bytes, MIN_SIZE, xen ? XEN_MAX_SIZE : MAX_SIZE);
  const v = viewOf(bytes);
  const n = v.getUint32(0, HOST_LITTLE_ENDIAN);
  if (n > MAX_REGIONS) throw new MalformedMessageError(`memory-table: nregions ${n} exceeds ${MAX_REGIONS}`, { raw: bytes });
  if (bytes.byteLength < tableSize(n, xen)) {
    throw new MalformedMessageError(
      `memory-table: nregions ${n} needs ${tableSize(n, xen)} bytes, got ${bytes.byteLength}`,
      { raw: bytes },
    );
  }
  const regions: MemoryRegion[] = [];
  for (let i = 0; i < n; i++) regions.push(readRegion(v, TABLE_HEADER_SIZE + i * regionSize, xen));
  return { regions };
}

function encodeWith(value: MemoryTable, xen: boolean, padToMax: boolean): Uint8Array {
  const n = value.regions.length;
  const out = new Uint8Array(Math.max(tableSize(n, xen), padToMax ? tableSize(MAX_REGIONS, xen) : 0));
  const v = viewOf(out);
  v.setUint32(0, n, HOST_LITTLE_ENDIAN);
  value.regions.forEach((r, i) => writeRegion(v, TABLE_HEADER_SIZE + i * (xen ? XEN_REGION_SIZE : REGION_SIZE), r, xen));
  return out;
}

/** Decodes a table (no XEN_MMAP). */
export const decode = (bytes: Uint8Array): MemoryTable => decodeWith(bytes, false);
/** Encodes `value` as `8 + 32·n` bytes, as QEMU does (more than 8 regions are written as given). */
export const encode = (value: MemoryTable): Uint8Array => encodeWith(value, false, false);
/** Encodes `value` as the full 264-byte C struct (unused entries zero). */
export const encodePadded = (value: MemoryTable): Uint8Array => encodeWith(value, false, true);
/** Decodes a table with XEN_MMAP's 40-byte regions. */
export const decodeXen = (bytes: Uint8Array): MemoryTable => decodeWith(bytes, true);
/** Encodes `value` with XEN_MMAP's 40-byte regions. */
export const encodeXen = (value: MemoryTable): Uint8Array => encodeWith(value, true, false);

/** Reason when there are more than 8 regions or a region is not well formed. */
export function validate(value: MemoryTable): string | undefined {
  if (value.regions.length > MAX_REGIONS) return `nregions ${value.regions.length} exceeds ${MAX_REGIONS}`;
  for (let i = 0; i < value.regions.length; i++) {
    const r = validateRegion(value.regions[i]);
    if (r !== undefined) return `region ${i}: ${r}`;
  }
  return undefined;
}

/** The memory-table codec (no XEN_MMAP). */
export const codec: PayloadCodec<MemoryTable> = {
  family: 'memory-table', minSize: MIN_SIZE, maxSize: MAX_SIZE, decode, encode, validate,
  describe: (t) => `{nregions:${t.regions.length},regions:${describeValue(t.regions)}}`,
};

/** The memory-table codec with XEN_MMAP's 40-byte regions. */
export const xenCodec: PayloadCodec<MemoryTable> = {
  ...codec, maxSize: XEN_MAX_SIZE, decode: decodeXen, encode: encodeXen,
};

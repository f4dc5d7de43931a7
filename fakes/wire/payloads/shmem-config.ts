/**
 * The shared memory configuration of GET_SHMEM_CONFIG's reply (CHECKLIST §3.15, T1), 2056 bytes:
 * `0/4 nregions`, `4/4 padding`, then 256 u64 sizes, the size of region `shmid = i` at
 * `8 + 8·i` (0 = unused).
 * @module
 */
import { HOST_LITTLE_ENDIAN, viewOf } from '../byte-order.js';
import { type PayloadCodec, expectSize, u64Reason, uintReason } from './codec.js';

/** Number of size slots (`VIRTIO_MAX_SHMEM_REGIONS`). */
export const MAX_SHMEM_REGIONS = 256;
/** Body size in bytes. */
export const SIZE = 8 + 8 * MAX_SHMEM_REGIONS;

/** A shared memory configuration. */
export interface ShmemConfig {
  /** Number of regions in use. */
  readonly nregions: number;
  /** Size of each region by shmid; decode always yields 256 entries, encode pads with zeros. */
  readonly memorySizes: readonly bigint[];
}

/** Decodes the 2056-byte body. */
export function decode(bytes: Uint8Array): ShmemConfig {
  expectSize('shmem-config', bytes, SIZE);
  const v = viewOf(bytes);
  const memorySizes: bigint[] = new Array<bigint>(MAX_SHMEM_REGIONS);
  for (let i = 0; i < MAX_SHMEM_REGIONS; i++) memorySizes[i] = v.getBigUint64(8 + 8 * i, HOST_LITTLE_ENDIAN);
  return { nregions: v.getUint32(0, HOST_LITTLE_ENDIAN), memorySizes };
}

/** Encodes `value` (at most 256 sizes are written; missing ones are 0). */
export function encode(value: ShmemConfig): Uint8Array {
  const out = new Uint8Array(SIZE);
  const v = viewOf(out);
  v.setUint32(0, value.nregions >>> 0, HOST_LITTLE_ENDIAN);
  const n = Math.min(value.memorySizes.length, MAX_SHMEM_REGIONS);
  for (let i = 0; i < n; i++) v.setBigUint64(8 + 8 * i, value.memorySizes[i], HOST_LITTLE_ENDIAN);
  return out;
}

/** Reason when counts or sizes are out of range. */
export function validate(value: ShmemConfig): string | undefined {
  const r = uintReason('nregions', value.nregions, 32);
  if (r !== undefined) return r;
  if (value.nregions > MAX_SHMEM_REGIONS) return `nregions ${value.nregions} exceeds ${MAX_SHMEM_REGIONS}`;
  if (value.memorySizes.length > MAX_SHMEM_REGIONS) return `more than ${MAX_SHMEM_REGIONS} sizes`;
  for (let i = 0; i < value.memorySizes.length; i++) {
    const s = u64Reason(`memorySizes[${i}]`, value.memorySizes[i]);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** The shmem-config codec; `describe` lists only the non-zero sizes. */
export const codec: PayloadCodec<ShmemConfig> = {
  family: 'shmem-config', minSize: SIZE, maxSize: SIZE, decode, encode, validate,
  describe: (c) => {
    const used = c.memorySizes.flatMap((s, i) => (s !== 0n ? [`${i}:0x${s.toString(16)}`] : []));
    return `{nregions:${c.nregions},sizes:{${used.join(',')}}}`;
  },
};

/**
 * Descriptor chains and ring states as plain data (STYLE §7, §31): {@link VringConfig}s that a
 * checked queue is built from — sizes, ring placements (aligned, misaligned, straddling the end of
 * memory, overlapping each other) and restored indices — and chain specs (segments, direction,
 * indirect) for the drivers. The device side must turn each config into a queue or refuse it with
 * its typed error; it must never walk past memory or loop.
 * @module
 */
import fc from 'fast-check';
import type { BufferSegment } from '../../fakes/virtqueue/chain.js';
import type { VringConfig, VringFormat } from '../../fakes/virtqueue/queue-config.js';
import { checkInt, mostly } from './_internals/numbers.js';

/** Options of {@link vringConfig}. */
export interface VringConfigConstraints {
  /** Ring format (default split). */
  readonly format?: VringFormat;
  /** Bytes of guest memory the rings are placed in, starting at GPA 0 (default 64 KiB). */
  readonly memoryBytes?: number;
  /** Valid configs per invalid one (default 6; 0 = invalid only). */
  readonly validWeight?: number;
}

/** Bytes a split ring of `size` needs: descriptors, avail ring (+event), used ring (+event). */
export const splitRingBytes = (size: number): { desc: number; avail: number; used: number } => ({ desc: 16 * size, avail: 6 + 2 * size, used: 6 + 8 * size });

/** A ring config: valid (aligned, inside memory, disjoint) or with one defect. */
export function vringConfig(constraints: VringConfigConstraints = {}): fc.Arbitrary<VringConfig> {
  const format = constraints.format ?? 'split';
  const mem = constraints.memoryBytes ?? 0x10000;
  const w = constraints.validWeight ?? 6;
  checkInt('memoryBytes', mem, 0x1000, 1 << 30);
  checkInt('validWeight', w, 0, 1000);
  const flags = fc.record({ eventIdx: fc.boolean(), indirect: fc.boolean(), inOrder: fc.constant(false) });
  const valid = fc
    .tuple(fc.integer({ min: 0, max: 8 }), flags, fc.nat(0xffff), fc.nat(0xffff))
    .filter(([k]) => { const b = splitRingBytes(2 ** k); return b.desc + b.avail + b.used + 0x1000 + 8 <= mem; })
    .map(([k, f, last, used]): VringConfig => {
      const size = 2 ** k;
      const b = splitRingBytes(size);
      const descAddr = 0;
      const availAddr = b.desc;
      const usedAddr = Math.ceil((availAddr + b.avail + 2) / 4) * 4;
      return {
        format, size, descAddr, availAddr, usedAddr, ...f,
        ...(format === 'split' ? { lastAvailIdx: last, usedIdx: used } : { lastAvailIdx: last % size, usedIdx: used % size }),
      };
    });
  const invalid = fc.record({
    format: fc.constant(format),
    size: fc.oneof(fc.constantFrom(0, 3, 65536, 0x8001), fc.integer({ min: 1, max: 512 })),
    descAddr: fc.oneof(fc.constantFrom(1, 2, mem - 8, mem, mem * 2, Number.MAX_SAFE_INTEGER), fc.nat(mem)),
    availAddr: fc.oneof(fc.constantFrom(1, mem - 2, mem), fc.nat(mem)),
    usedAddr: fc.oneof(fc.constantFrom(2, mem - 4, mem), fc.nat(mem)),
    eventIdx: fc.boolean(), indirect: fc.boolean(), inOrder: fc.boolean(),
    lastAvailIdx: fc.oneof(fc.nat(0xffff), fc.constantFrom(0x10000, -1)),
    usedIdx: fc.oneof(fc.nat(0xffff), fc.constantFrom(0x10000, -1)),
  });
  return mostly(valid, invalid, w);
}

/** A chain to add: segments and whether it goes in an indirect table. */
export interface ChainSpec {
  readonly segments: readonly BufferSegment[];
  readonly indirect: boolean;
}

/** Options of {@link chainSpec}. */
export interface ChainSpecConstraints {
  /** Most segments (default 4). */
  readonly maxSegments?: number;
  /** Guest memory the buffers lie in, from `base` (GPA) for `bytes` (default 0x10000 .. +64 KiB). */
  readonly base?: number;
  readonly bytes?: number;
  /** Allow indirect chains (default false). */
  readonly indirect?: boolean;
}

/**
 * A chain: readable segments first, then writable ones (virtio §2.7.4 requires that order), each
 * inside the buffer area.
 */
export function chainSpec(constraints: ChainSpecConstraints = {}): fc.Arbitrary<ChainSpec> {
  const max = constraints.maxSegments ?? 4;
  const base = constraints.base ?? 0x10000;
  const bytes = constraints.bytes ?? 0x10000;
  checkInt('maxSegments', max, 1, 64);
  const seg = fc.record({ off: fc.nat(bytes - 1), len: fc.integer({ min: 1, max: 2048 }), writable: fc.boolean() })
    .map((s) => ({ addr: base + s.off, len: Math.min(s.len, bytes - s.off), writable: s.writable }));
  return fc.record({
    segments: fc.array(seg, { minLength: 1, maxLength: max }).map((ss) => [...ss.filter((s) => !s.writable), ...ss.filter((s) => s.writable)]),
    indirect: constraints.indirect ? fc.boolean() : fc.constant(false),
  });
}

/**
 * fast-check arbitraries of well-formed payload values, one per family, for the wire model's own
 * property tests (encode∘decode round trips). Every value they produce passes the family's
 * `validate`. The fuzz folder builds its own, richer arbitraries from the request table.
 * @module
 */
import fc from 'fast-check';
import type { PayloadFamily } from '../payloads/codec.js';
import type { MemoryRegion } from '../payloads/mem-region.js';

const U64_MAX = (1n << 64n) - 1n;

/** Any u64. */
export const u64Arb = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: U64_MAX });
/** Any u32. */
export const u32Arb = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffffffff });
/** Any u16. */
export const u16Arb = (): fc.Arbitrary<number> => fc.integer({ min: 0, max: 0xffff });
/** A u64 below 2^63, so that sums of two never wrap. */
const halfU64 = (): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });

/** A well-formed region (non-zero size, no wrap-around). */
export const regionArb = (): fc.Arbitrary<MemoryRegion> =>
  fc.record({
    guestPhysAddr: halfU64(),
    memorySize: fc.bigInt({ min: 1n, max: 1n << 48n }),
    userspaceAddr: halfU64(),
    mmapOffset: halfU64(),
  });

const logArb = () => fc.record({ mmapSize: halfU64(), mmapOffset: halfU64() });
const configArb = () =>
  fc
    .record({ offset: u32Arb(), flags: fc.constantFrom(0, 1), data: fc.uint8Array({ maxLength: 256 }) })
    .map((c) => ({ ...c, size: c.data.byteLength }));

/** One arbitrary of valid values per payload family. */
export const familyArbitraries: { readonly [F in PayloadFamily]: fc.Arbitrary<unknown> } = {
  empty: fc.constant(undefined),
  u64: u64Arb(),
  'vring-state': fc.record({ index: u32Arb(), num: u32Arb() }),
  'vring-fd': fc.record({ index: fc.integer({ min: 0, max: 255 }), noFd: fc.boolean(), upper: fc.constant(0n) }),
  'vring-addr': fc.record({
    index: u32Arb(),
    flags: fc.constantFrom(0, 1),
    descAddr: u64Arb(),
    usedAddr: u64Arb(),
    availAddr: u64Arb(),
    logGuestAddr: u64Arb(),
  }),
  'memory-table': fc.record({ regions: fc.array(regionArb(), { maxLength: 8 }) }),
  'mem-region': fc.record({ region: regionArb() }),
  log: logArb(),
  'log-reply': fc.option(logArb(), { nil: undefined }),
  config: configArb(),
  'config-reply': fc.option(configArb(), { nil: undefined }),
  inflight: fc.record({ mmapSize: u64Arb(), mmapOffset: u64Arb(), numQueues: u16Arb(), queueSize: u16Arb() }),
  iotlb: fc.record({
    iova: u64Arb(),
    size: u64Arb(),
    uaddr: u64Arb(),
    perm: fc.integer({ min: 0, max: 3 }),
    type: fc.integer({ min: 1, max: 4 }),
  }),
  'vring-area': fc.record({ u64: u64Arb(), size: u64Arb(), offset: u64Arb() }),
  'shared-object': fc.record({ uuid: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
  'device-state': fc.record({ direction: fc.constantFrom(0, 1), phase: fc.constant(0) }),
  'mmap-request': fc.record({
    shmid: fc.integer({ min: 0, max: 255 }),
    fdOffset: u64Arb(),
    shmOffset: u64Arb(),
    len: u64Arb(),
    flags: fc.constantFrom(0n, 1n),
  }),
  'shmem-config': fc.record({
    nregions: fc.integer({ min: 0, max: 256 }),
    memorySizes: fc.array(u64Arb(), { minLength: 256, maxLength: 256 }),
  }),
  opaque: fc.uint8Array({ maxLength: 600 }),
};

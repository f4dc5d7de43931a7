/**
 * The remaining front-end payload families (CHECKLIST §3): plain u64 (RARP, MTU, status, crypto
 * session id), log, config, inflight, IOTLB, shared object, device state and opaque bodies. Each
 * factory yields the codec value directly (nothing here depends on session state), valid values
 * with edge cases and now and then a value a careful back-end must refuse.
 * @module
 */
import fc from 'fast-check';
import type { PayloadFamily } from '../../fakes/wire/payloads/codec.js';
import { MAX_CONFIG_SIZE } from '../../fakes/wire/payloads/config.js';
import { anyU32, anyU64, checkInt, edgeU32, edgeU64, mostly } from './_internals/numbers.js';

/** Options of {@link otherPayload}. */
export interface OtherPayloadConstraints {
  /** Valid draws per invalid draw (default 8; 0 = invalid only). */
  readonly validWeight?: number;
  /** Most bytes of a config or opaque body (default 64). */
  readonly maxBytes?: number;
}

/** Families {@link otherPayload} covers. */
export const OTHER_FAMILIES: readonly PayloadFamily[] = ['empty', 'u64', 'log', 'config', 'inflight', 'iotlb', 'shared-object', 'device-state', 'opaque'];

/** A codec value for `family` (one of {@link OTHER_FAMILIES}). */
export function otherPayload(family: PayloadFamily, constraints: OtherPayloadConstraints = {}): fc.Arbitrary<unknown> {
  const w = constraints.validWeight ?? 8;
  checkInt('validWeight', w, 0, 1000);
  const maxBytes = constraints.maxBytes ?? 64;
  checkInt('maxBytes', maxBytes, 0, MAX_CONFIG_SIZE);
  switch (family) {
    case 'empty':
      return fc.constant(undefined);
    case 'u64':
      return mostly(fc.bigInt({ min: 0n, max: 0xffffn }), fc.oneof(edgeU64, anyU64), w);
    case 'log':
      return fc.record({ mmapSize: mostly(fc.constant(0x1000n), edgeU64, w), mmapOffset: mostly(fc.constant(0n), edgeU64, w) });
    case 'config': {
      const data = fc.uint8Array({ maxLength: maxBytes });
      return fc.record({ offset: mostly(fc.integer({ min: 0, max: 64 }), edgeU32, w), flags: mostly(fc.constantFrom(0, 1), anyU32, w), data })
        .chain((c) => mostly(fc.constant(c.data.byteLength), edgeU32, w).map((size) => ({ ...c, size })));
    }
    case 'inflight':
      return fc.record({
        mmapSize: mostly(fc.constant(0n), edgeU64, w), mmapOffset: mostly(fc.constant(0n), edgeU64, w),
        numQueues: mostly(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, 0xffff), w),
        queueSize: mostly(fc.constantFrom(64, 256, 1024), fc.constantFrom(0, 3, 0xffff), w),
      });
    case 'iotlb':
      return fc.record({ iova: anyU64, size: mostly(fc.constant(0x1000n), edgeU64, w), uaddr: anyU64, perm: fc.integer({ min: 0, max: 255 }), type: fc.integer({ min: 0, max: 255 }) });
    case 'shared-object':
      return fc.record({ uuid: fc.uint8Array({ minLength: 16, maxLength: 16 }) });
    case 'device-state':
      return fc.record({ direction: mostly(fc.integer({ min: 0, max: 1 }), anyU32, w), phase: mostly(fc.constant(0), anyU32, w) });
    default:
      return fc.uint8Array({ maxLength: maxBytes });
  }
}

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MalformedMessageError } from '../errors.js';
import { familyArbitraries, regionArb } from '../__test-helpers__/arbitraries.js';
import type { PayloadCodec, PayloadFamily } from './codec.js';
import * as config from './config.js';
import * as deviceState from './device-state.js';
import * as empty from './empty.js';
import * as inflight from './inflight.js';
import * as iotlb from './iotlb.js';
import * as log from './log.js';
import * as memRegion from './mem-region.js';
import * as memoryTable from './memory-table.js';
import * as mmapRequest from './mmap-request.js';
import * as opaque from './opaque.js';
import * as sharedObject from './shared-object.js';
import * as shmemConfig from './shmem-config.js';
import * as u64 from './u64.js';
import * as vringAddr from './vring-addr.js';
import * as vringArea from './vring-area.js';
import * as vringBase from './vring-base.js';
import * as vringFd from './vring-fd.js';
import * as vringState from './vring-state.js';

const CODECS: { readonly [F in PayloadFamily]: PayloadCodec<unknown> } = {
  empty: empty.codec as PayloadCodec<unknown>,
  u64: u64.codec as PayloadCodec<unknown>,
  'vring-state': vringState.codec as PayloadCodec<unknown>,
  'vring-fd': vringFd.codec as PayloadCodec<unknown>,
  'vring-addr': vringAddr.codec as PayloadCodec<unknown>,
  'memory-table': memoryTable.codec as PayloadCodec<unknown>,
  'mem-region': memRegion.codec as PayloadCodec<unknown>,
  log: log.codec as PayloadCodec<unknown>,
  'log-reply': log.replyCodec as PayloadCodec<unknown>,
  config: config.codec as PayloadCodec<unknown>,
  'config-reply': config.replyCodec as PayloadCodec<unknown>,
  inflight: inflight.codec as PayloadCodec<unknown>,
  iotlb: iotlb.codec as PayloadCodec<unknown>,
  'vring-area': vringArea.codec as PayloadCodec<unknown>,
  'shared-object': sharedObject.codec as PayloadCodec<unknown>,
  'device-state': deviceState.codec as PayloadCodec<unknown>,
  'mmap-request': mmapRequest.codec as PayloadCodec<unknown>,
  'shmem-config': shmemConfig.codec as PayloadCodec<unknown>,
  opaque: opaque.codec as PayloadCodec<unknown>,
};

const FAMILIES = Object.keys(CODECS) as PayloadFamily[];

describe('payload codecs: properties', () => {
  it.each(FAMILIES)('%s: family name matches', (family) => {
    expect(CODECS[family].family).toBe(family);
  });

  it.each(FAMILIES)('%s: valid values pass validate and round-trip through encode∘decode', (family) => {
    const codec = CODECS[family];
    fc.assert(
      fc.property(familyArbitraries[family], (v) => {
        expect(codec.validate(v)).toBeUndefined();
        const bytes = codec.encode(v);
        expect(bytes.byteLength).toBeGreaterThanOrEqual(codec.minSize);
        expect(bytes.byteLength).toBeLessThanOrEqual(codec.maxSize);
        expect(codec.decode(bytes)).toEqual(v);
        expect(typeof codec.describe(v)).toBe('string');
      }),
      { numRuns: 200 },
    );
  });

  it.each(FAMILIES)('%s: decoding any bytes throws only MalformedMessageError', (family) => {
    const codec = CODECS[family];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2200 }), (b) => {
        try {
          const v = codec.decode(b);
          // Whatever decodes re-encodes to something that decodes the same (fixed point).
          expect(codec.decode(codec.encode(v))).toEqual(v);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedMessageError);
        }
      }),
      { numRuns: 200 },
    );
  });

  it.each(FAMILIES)('%s: bodies at every size in the codec range decode, just outside do not', (family) => {
    const codec = CODECS[family];
    if (codec.maxSize === codec.minSize) {
      expect(() => codec.decode(new Uint8Array(codec.minSize))).not.toThrow();
      expect(() => codec.decode(new Uint8Array(codec.minSize + 1))).toThrow(MalformedMessageError);
      if (codec.minSize > 0) expect(() => codec.decode(new Uint8Array(codec.minSize - 1))).toThrow(MalformedMessageError);
    } else {
      expect(() => codec.decode(new Uint8Array(codec.maxSize + 1))).toThrow(MalformedMessageError);
    }
  });
});

describe('payload codecs: layouts', () => {
  it('vring-state is index then num', () => {
    expect(Array.from(vringState.encode({ index: 1, num: 256 }))).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('vring-addr puts used before available', () => {
    const b = vringAddr.encode({ index: 2, flags: 1, descAddr: 0x10n, usedAddr: 0x20n, availAddr: 0x30n, logGuestAddr: 0x40n });
    expect(b.byteLength).toBe(40);
    expect([b[0], b[4], b[8], b[16], b[24], b[32]]).toEqual([2, 1, 0x10, 0x20, 0x30, 0x40]);
    expect(vringAddr.validate({ index: 0, flags: 2, descAddr: 0n, usedAddr: 0n, availAddr: 0n, logGuestAddr: 0n })).toMatch(/flag/);
  });

  it('memory-table: QEMU size 8+32n by default, 264 padded, both decode', () => {
    const t = { regions: [{ guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: 0x7f00n, mmapOffset: 0x10n }] };
    expect(memoryTable.encode(t).byteLength).toBe(40);
    expect(memoryTable.encodePadded(t).byteLength).toBe(264);
    expect(memoryTable.decode(memoryTable.encodePadded(t))).toEqual(t);
    expect(memoryTable.encode(t)[0]).toBe(1);
    expect(memoryTable.encode(t)[8 + 16 + 1]).toBe(0x7f);
  });

  it('memory-table rejects nregions > 8 and truncated regions', () => {
    const b = new Uint8Array(264);
    b[0] = 9;
    expect(() => memoryTable.decode(b)).toThrow(/nregions 9/);
    const c = new Uint8Array(8 + 32);
    c[0] = 2;
    expect(() => memoryTable.decode(c)).toThrow(/needs 72/);
    expect(memoryTable.validate({ regions: Array.from({ length: 9 }, () => ({ guestPhysAddr: 0n, memorySize: 1n, userspaceAddr: 0n, mmapOffset: 0n })) })).toMatch(/exceeds 8/);
  });

  it('region validation catches zero size and u64 wrap-around', () => {
    const r = { guestPhysAddr: 0n, memorySize: 0x1000n, userspaceAddr: 0n, mmapOffset: 0n };
    expect(memRegion.validateRegion(r)).toBeUndefined();
    expect(memRegion.validateRegion({ ...r, memorySize: 0n })).toMatch(/memorySize is 0/);
    expect(memRegion.validateRegion({ ...r, guestPhysAddr: (1n << 64n) - 0x800n })).toMatch(/guestPhysAddr \+ memorySize/);
    expect(memRegion.validateRegion({ ...r, mmapOffset: (1n << 64n) - 1n })).toMatch(/mmapOffset/);
    // Ending exactly at 2^64 does not wrap.
    expect(memRegion.validateRegion({ ...r, userspaceAddr: (1n << 64n) - 0x1000n })).toBeUndefined();
  });

  it('single region: 8 bytes padding then the region; XEN variant is 48 bytes', () => {
    fc.assert(
      fc.property(regionArb(), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), (region, flags, domid) => {
        const b = memRegion.encode({ region });
        expect(b.byteLength).toBe(40);
        expect(Array.from(b.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
        const xr = { ...region, xenMmapFlags: flags, domid };
        const xb = memRegion.encodeXen({ region: xr });
        expect(xb.byteLength).toBe(48);
        expect(memRegion.decodeXen(xb)).toEqual({ region: xr });
        expect(memoryTable.decodeXen(memoryTable.encodeXen({ regions: [xr, xr] }))).toEqual({ regions: [xr, xr] });
      }),
      { numRuns: 50 },
    );
  });

  it('vring-fd: bits 0–7 index, bit 8 NOFD, never leaking into the index (VU-FD-001)', () => {
    expect(vringFd.VRING_NOFD_MASK).toBe(0x100);
    expect(vringFd.decodeVringFdValue(0x100n)).toEqual({ index: 0, noFd: true, upper: 0n });
    expect(vringFd.decodeVringFdValue(0x1ffn)).toEqual({ index: 255, noFd: true, upper: 0n });
    expect(vringFd.decodeVringFdValue(0x203n)).toEqual({ index: 3, noFd: false, upper: 0x200n });
    expect(vringFd.encodeVringFdValue({ index: 1, noFd: true })).toBe(0x101n);
    expect(vringFd.validate({ index: 0, noFd: false, upper: 0x200n })).toMatch(/bits 9-63/);
  });

  it('vring base: split 16-bit and packed indices + wrap counters', () => {
    expect(vringBase.encodeSplitBase(0x1_0005)).toBe(5);
    expect(vringBase.validateSplitBase(0x10005)).toMatch(/bits 16-31/);
    expect(vringBase.validateSplitBase(0xffff)).toBeUndefined();
    expect(vringBase.encodePackedBase(vringBase.PACKED_INITIAL_BASE)).toBe(0x80008000);
    fc.assert(
      fc.property(
        fc.record({ availIdx: fc.integer({ min: 0, max: 0x7fff }), availWrap: fc.boolean(), usedIdx: fc.integer({ min: 0, max: 0x7fff }), usedWrap: fc.boolean() }),
        (b) => {
          const n = vringBase.encodePackedBase(b);
          expect(n).toBeGreaterThanOrEqual(0);
          expect(n).toBeLessThanOrEqual(0xffffffff);
          expect(vringBase.decodePackedBase(n)).toEqual(b);
          // And it survives the vring-state codec.
          expect(vringBase.decodePackedBase(vringState.decode(vringState.encode({ index: 0, num: n })).num)).toEqual(b);
        },
      ),
    );
  });

  it('config: size field kept as sent, mismatch reported by validate; error reply is empty', () => {
    const c = config.makeConfig(0, new Uint8Array([1, 2, 3]));
    expect(config.encode(c).byteLength).toBe(15);
    const lie = { ...c, size: 8 };
    expect(config.decode(config.encode(lie))).toEqual(lie);
    expect(config.validate(lie)).toMatch(/size field 8/);
    expect(config.validate({ ...c, flags: 2 })).toMatch(/flags/);
    expect(config.validate(config.makeConfig(0, new Uint8Array(257)))).toMatch(/exceeds 256/);
    expect(config.replyCodec.decode(new Uint8Array(0))).toBeUndefined();
    expect(() => config.replyCodec.decode(new Uint8Array(5))).toThrow(MalformedMessageError);
  });

  it('log reply accepts 0 or 16 bytes only (D3)', () => {
    expect(log.replyCodec.decode(new Uint8Array(0))).toBeUndefined();
    expect(log.replyCodec.decode(new Uint8Array(16))).toEqual({ mmapSize: 0n, mmapOffset: 0n });
    expect(() => log.replyCodec.decode(new Uint8Array(8))).toThrow(MalformedMessageError);
    expect(log.validate({ mmapSize: 8192n, mmapOffset: (1n << 64n) - 4096n })).toMatch(/overflows/);
  });

  it('inflight is 24 bytes with u16 counts at 16/18', () => {
    const b = inflight.encode({ mmapSize: 0n, mmapOffset: 0n, numQueues: 2, queueSize: 0x100 });
    expect(b.byteLength).toBe(24);
    expect([b[16], b[18], b[19]]).toEqual([2, 0, 1]);
  });

  it('iotlb: perm at 24, type at 25; undefined values rejected', () => {
    const b = iotlb.encode({ iova: 0n, size: 0n, uaddr: 0n, perm: iotlb.IotlbPerm.RW, type: iotlb.IotlbType.UPDATE });
    expect([b.byteLength, b[24], b[25]]).toEqual([32, 3, 2]);
    expect(iotlb.validate({ iova: 0n, size: 0n, uaddr: 0n, perm: 4, type: 2 })).toMatch(/perm/);
    expect(iotlb.validate({ iova: 0n, size: 0n, uaddr: 0n, perm: 0, type: 0 })).toMatch(/type/);
    expect(iotlb.validate({ iova: 0n, size: 0n, uaddr: 0n, perm: 0, type: 5 })).toMatch(/type/);
  });

  it('shared-object UUID string form is RFC 4122 byte order', () => {
    const s = '12345678-9abc-def0-1122-334455667788';
    const u = sharedObject.uuidFromString(s);
    expect(u[0]).toBe(0x12);
    expect(u[4]).toBe(0x9a);
    expect(sharedObject.uuidToString(u)).toBe(s);
    expect(() => sharedObject.uuidFromString('nope')).toThrow(RangeError);
  });

  it('device-state reply bits', () => {
    expect(deviceState.decodeDeviceStateReply(0x101n)).toEqual({ error: 1, noFd: true, upper: 0n });
    expect(deviceState.encodeDeviceStateReply({ error: 0, noFd: true })).toBe(0x100n);
    expect(deviceState.validate({ direction: 2, phase: 0 })).toMatch(/direction/);
    expect(deviceState.validate({ direction: 0, phase: 1 })).toMatch(/phase/);
  });

  it('mmap-request and shmem-config sizes', () => {
    expect(mmapRequest.SIZE).toBe(40);
    expect(mmapRequest.validate({ shmid: 0, fdOffset: 0n, shmOffset: 0n, len: 0n, flags: 2n })).toMatch(/flag/);
    expect(shmemConfig.SIZE).toBe(2056);
    const short = shmemConfig.encode({ nregions: 1, memorySizes: [0x1000n] });
    expect(short.byteLength).toBe(2056);
    expect(shmemConfig.decode(short).memorySizes[0]).toBe(0x1000n);
    expect(shmemConfig.codec.describe(shmemConfig.decode(short))).toBe('{nregions:1,sizes:{0:0x1000}}');
  });

  it('u64 RARP MAC helpers', () => {
    const v = u64.rarpValue('52:54:00:12:34:56');
    expect(u64.rarpMac(v)).toBe('52:54:00:12:34:56');
    expect(() => u64.rarpValue('52:54')).toThrow(RangeError);
  });

  it('validators return reasons for wrong types instead of throwing', () => {
    expect(vringState.validate({ index: -1, num: 0 })).toMatch(/index/);
    expect(vringState.validate({ index: 1.5, num: 0 })).toMatch(/index/);
    expect(u64.validate(1n << 64n)).toMatch(/u64/);
    expect(u64.validate(-1n)).toMatch(/u64/);
    expect(inflight.validate({ mmapSize: 0n, mmapOffset: 0n, numQueues: 0x10000, queueSize: 0 })).toMatch(/numQueues/);
  });
});

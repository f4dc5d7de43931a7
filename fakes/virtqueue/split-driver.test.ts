import { describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from '../memory/array-guest-memory.js';
import { GuestAllocator } from '../memory/allocator.js';
import { GuestMemoryError } from '../memory/guest-memory.js';
import { SplitQueueDriver } from './split-driver.js';
import type { SplitQueueDriverOptions } from './split-driver.js';
import { TinySplitDevice, readDesc } from './__test-helpers__/tiny-split-device.js';

const BUF = 0x20_0000; // GPA of the packet-buffer area used by these tests

function setup(options: SplitQueueDriverOptions) {
  const mem = new ArrayGuestMemory([
    { guestPhysAddr: 0x1000, size: 0x10_0000 },
    { guestPhysAddr: BUF, size: 0x10_0000 },
  ]);
  const alloc = new GuestAllocator(mem, { end: 0x10_1000 });
  const q = SplitQueueDriver.create(mem, alloc, options);
  const dev = new TinySplitDevice(mem, q.layout);
  return { mem, alloc, q, dev };
}

describe('SplitQueueDriver layout', () => {
  it('places the table, avail and used rings at aligned, disjoint GPAs of the right size', () => {
    const { q } = setup({ size: 8 });
    const { size, descAddr, availAddr, usedAddr } = q.layout;
    expect(size).toBe(8);
    expect(descAddr % 16).toBe(0);
    expect(availAddr % 2).toBe(0);
    expect(usedAddr % 4).toBe(0);
    expect(availAddr).toBeGreaterThanOrEqual(descAddr + 16 * 8);
    expect(usedAddr).toBeGreaterThanOrEqual(availAddr + 6 + 2 * 8);
    expect(q.freeCount).toBe(8);
  });

  it('rejects sizes that are not powers of two, and rings the allocator cannot place', () => {
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x100 }]);
    expect(() => SplitQueueDriver.create(mem, new GuestAllocator(mem), { size: 3 })).toThrow(RangeError);
    expect(() => SplitQueueDriver.create(mem, new GuestAllocator(mem), { size: 0 })).toThrow(RangeError);
    expect(() => SplitQueueDriver.create(mem, new GuestAllocator(mem), { size: 64 })).toThrow(GuestMemoryError);
  });
});

describe('SplitQueueDriver writes chains exactly per the layout', () => {
  it('single buffers: 16-byte descriptors, avail slot, idx only after publish', () => {
    const { mem, q } = setup({ size: 4 });
    const h0 = q.addSingle(0x1_2345_6789, 1500, false);
    const h1 = q.addSingle(BUF + 0x40, 64, true);
    expect(h0).toBe(0);
    expect(h1).toBe(1);
    const raw = mem.read(q.layout.descAddr, 32);
    const dv = new DataView(raw.buffer);
    expect(dv.getBigUint64(0, true)).toBe(0x1_2345_6789n);
    expect(dv.getUint32(8, true)).toBe(1500);
    expect(dv.getUint16(12, true)).toBe(0); // no NEXT, not WRITE
    expect(dv.getBigUint64(16, true)).toBe(BigInt(BUF + 0x40));
    expect(dv.getUint16(28, true)).toBe(2); // WRITE
    expect(mem.readU16(q.layout.availAddr + 4)).toBe(0);
    expect(mem.readU16(q.layout.availAddr + 6)).toBe(1);
    // Staged, not published: the device still sees idx 0 (VU-DP-019).
    expect(mem.readU16(q.layout.availAddr + 2)).toBe(0);
    expect(q.pendingCount).toBe(2);
    q.publish();
    expect(mem.readU16(q.layout.availAddr + 2)).toBe(2);
    expect(q.availIdx).toBe(2);
    expect(q.inFlight).toBe(2);
    expect(q.freeCount).toBe(2);
  });

  it('direct chains: NEXT links in order, WRITE per segment, last without NEXT', () => {
    const { mem, q, dev } = setup({ size: 8 });
    const segs = [
      { addr: BUF, len: 12, writable: false },
      { addr: BUF + 0x100, len: 100, writable: false },
      { addr: BUF + 0x200, len: 2048, writable: true },
    ];
    const head = q.addChain(segs)!;
    q.publish();
    let i = head;
    for (let k = 0; k < 3; k++) {
      const d = readDesc(mem, q.layout.descAddr + 16 * i);
      expect(d.addr).toBe(segs[k].addr);
      expect(d.len).toBe(segs[k].len);
      expect(d.flags & 2).toBe(segs[k].writable ? 2 : 0);
      expect(d.flags & 1).toBe(k < 2 ? 1 : 0);
      expect(d.flags & 4).toBe(0);
      i = d.next;
    }
    expect(dev.poll()).toEqual([{ head, segments: segs }]);
    expect(q.freeCount).toBe(5);
  });

  it('indirect chains: one INDIRECT descriptor pointing at a 16·n-byte table; tables are reused', () => {
    const { mem, q, dev } = setup({ size: 4, indirect: true });
    const segs = [
      { addr: BUF, len: 10, writable: false },
      { addr: BUF + 0x10, len: 20, writable: true },
      { addr: BUF + 0x30, len: 30, writable: true },
    ];
    const head = q.addChain(segs, { indirect: true })!;
    q.publish();
    const d = readDesc(mem, q.layout.descAddr + 16 * head);
    expect(d.flags).toBe(4);
    expect(d.len).toBe(48);
    expect(d.addr % 16).toBe(0);
    for (let k = 0; k < 3; k++) {
      const e = readDesc(mem, d.addr + 16 * k);
      expect([e.addr, e.len, e.flags, e.next]).toEqual([segs[k].addr, segs[k].len, (k < 2 ? 1 : 0) | (segs[k].writable ? 2 : 0), k < 2 ? k + 1 : 0]);
    }
    expect(dev.poll()).toEqual([{ head, segments: segs }]);
    expect(q.freeCount).toBe(3); // an indirect chain takes one ring descriptor
    dev.pushUsed(head, 50);
    expect(q.popUsed()).toEqual({ id: head, len: 50 });
    const again = q.addChain(segs.slice(0, 2), { indirect: true })!;
    expect(again).toBe(head);
    expect(readDesc(mem, q.layout.descAddr + 16 * again).addr).toBe(d.addr);
    expect(() => setup({ size: 4 }).q.addChain(segs, { indirect: true })).toThrow(/INDIRECT_DESC/);
  });

  it('bigint addresses reach all 64 bits of the descriptor', () => {
    const { mem, q } = setup({ size: 2 });
    const head = q.addChain([{ addr: (1n << 64n) - 16n, len: 4096, writable: false }])!;
    expect(mem.readU64(q.layout.descAddr + 16 * head)).toBe((1n << 64n) - 16n);
  });

  it('returns -1 / undefined when the table is full, and frees chains on return', () => {
    const { q, dev } = setup({ size: 4 });
    expect(q.addChain([{ addr: BUF, len: 1, writable: true }, { addr: BUF + 8, len: 1, writable: true }, { addr: BUF + 16, len: 1, writable: true }])).toBeDefined();
    expect(q.addChain([{ addr: BUF, len: 1, writable: true }, { addr: BUF + 8, len: 1, writable: true }])).toBeUndefined();
    expect(q.addSingle(BUF + 0x100, 8, true)).toBeGreaterThanOrEqual(0);
    expect(q.addSingle(BUF + 0x200, 8, true)).toBe(-1);
    q.publish();
    dev.serve();
    let n = 0;
    const lens: number[] = [];
    expect(q.drainUsed((_id, len) => (n++, lens.push(len)))).toBe(2);
    expect(n).toBe(2);
    expect(lens.sort()).toEqual([3, 8]);
    expect(q.freeCount).toBe(4);
    expect(q.inFlight).toBe(0);
    expect(q.popUsed()).toBeUndefined();
  });
});

describe('SplitQueueDriver round trips with a device', () => {
  it('moves many packets through a small ring across the 16-bit index wrap', () => {
    const { q, dev, mem } = setup({ size: 8 });
    q.restoreFrom(65530, 65530);
    dev.lastAvail = 65530;
    dev.usedIdx = 65530;
    const out = { id: 0, len: 0 };
    let got = 0;
    for (let round = 0; round < 40; round++) {
      const heads = new Set<number>();
      for (let i = 0; i < 5; i++) heads.add(q.addSingle(BUF + 0x800 * i, 0x800, true));
      q.publish();
      dev.serve(round);
      while (q.popUsedInto(out)) {
        expect(heads.delete(out.id)).toBe(true);
        expect(out.len).toBe(0x800);
        got++;
      }
      expect(heads.size).toBe(0);
      expect(mem.read(BUF, 1)[0]).toBe(round);
    }
    expect(got).toBe(200);
    expect(q.lastUsedIdx).toBe((65530 + 200) & 0xffff);
    expect(q.tracker.violations).toEqual([]);
  });

  it('skips used elements naming heads that are not in flight, so the free list stays sound', () => {
    const { q, dev } = setup({ size: 4 });
    const h = q.addSingle(BUF, 64, true);
    q.publish();
    dev.pushUsed(3, 0); // never added
    dev.pushUsed(h, 64);
    dev.pushUsed(h, 64); // again
    expect(q.popUsed()).toEqual({ id: h, len: 64 });
    expect(q.popUsed()).toBeUndefined();
    expect(q.freeCount).toBe(4);
    expect(q.tracker.violations.map((v) => v.rule)).toEqual(['VU-DP-019', 'VU-DP-019']);
  });
});

describe('SplitQueueDriver notifications', () => {
  it('without EVENT_IDX: kick unless used->flags has NO_NOTIFY; nothing new → no kick', () => {
    const { q, dev } = setup({ size: 4 });
    q.addSingle(BUF, 8, false);
    q.publish();
    expect(q.needsKick()).toBe(true);
    expect(q.needsKick()).toBe(false);
    dev.setUsedFlags(1);
    q.addSingle(BUF, 8, false);
    q.publish();
    expect(q.needsKick()).toBe(false);
  });

  it('suppressInterrupts sets avail->flags without EVENT_IDX and used_event with it', () => {
    const a = setup({ size: 4 });
    a.q.suppressInterrupts(true);
    expect(a.mem.readU16(a.q.layout.availAddr)).toBe(1);
    a.q.suppressInterrupts(false);
    expect(a.mem.readU16(a.q.layout.availAddr)).toBe(0);

    const b = setup({ size: 4, eventIdx: true });
    b.q.restoreFrom(10, 10);
    b.dev.lastAvail = 10;
    b.dev.usedIdx = 10;
    expect(b.q.suppressInterrupts(false)).toBe(false);
    expect(b.dev.usedEvent()).toBe(10);
    b.q.suppressInterrupts(true);
    expect(b.mem.readU16(b.q.layout.availAddr)).toBe(0); // flags must stay 0 with EVENT_IDX
    expect(b.dev.usedEvent()).toBe(9);
    b.q.addSingle(BUF, 8, true);
    b.q.publish();
    b.dev.serve();
    // Re-enabling reports the element that is already waiting.
    expect(b.q.suppressInterrupts(false)).toBe(true);
  });

  it('with EVENT_IDX: kicks exactly when avail_event is among the indices just published, across the wrap', () => {
    // Published batch covers indices old … new − 1; the device asked to be kicked when it
    // reaches avail_event, i.e. when avail_event is one of those indices (virtio §2.7.7.2).
    for (const start of [65530, 65535, 0, 100]) {
      for (const batch of [1, 3, 8]) {
        const published = Array.from({ length: batch }, (_, i) => (start + i) & 0xffff);
        for (const event of [...published, (start - 1) & 0xffff, (start + batch) & 0xffff, (start + 0x8000) & 0xffff]) {
          const { q, dev } = setup({ size: 8, eventIdx: true });
          q.restoreFrom(start, start);
          dev.setAvailEvent(event);
          for (let i = 0; i < batch; i++) q.addSingle(BUF, 8, false);
          q.publish();
          expect({ start, batch, event, kick: q.needsKick() }).toEqual({ start, batch, event, kick: published.includes(event) });
        }
      }
    }
  });
});

describe('SplitQueueDriver reset and restore', () => {
  it('restoreFrom stores the indices, frees everything and continues from there', () => {
    const { q, mem } = setup({ size: 4 });
    q.addSingle(BUF, 8, true);
    q.publish();
    q.restoreFrom(0x1234, 0x1230);
    expect(mem.readU16(q.layout.availAddr + 2)).toBe(0x1234);
    expect(mem.readU16(q.layout.usedAddr + 2)).toBe(0x1230);
    expect([q.freeCount, q.inFlight, q.availIdx, q.lastUsedIdx]).toEqual([4, 0, 0x1234, 0x1230]);
    const h = q.addSingle(BUF, 8, true);
    q.publish();
    expect(mem.readU16(q.layout.availAddr + 4 + 2 * (0x1234 % 4))).toBe(h);
    q.reset();
    expect(mem.readU16(q.layout.availAddr + 2)).toBe(0);
    expect(q.freeCount).toBe(4);
    expect(() => q.restoreFrom(0x10000, 0)).toThrow(RangeError);
  });
});

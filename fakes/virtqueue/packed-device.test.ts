import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PACKED_EVENT, PackedDescFlag as F, PackedEventFlag } from '../wire/ring-layout.js';
import { Chain, ChainError, Segment, isChainError } from './chain-walker.js';
import { PackedQueueDevice, decodePackedVringBase, encodePackedVringBase } from './packed-device.js';
import { QueueConfigError, type VringConfig } from './queue-config.js';
import { testMemory } from './__test-helpers__/test-memory.js';

const RING = 0x1000;
const DRV_EVT = 0x100;
const DEV_EVT = 0x104;
const B = 0x10_0000;
const T = B + 0x8000;

function setup(size = 4, extra: Partial<VringConfig> = {}) {
  const mem = testMemory([[0, 0x1_0000], [B, 0x1_0000]]);
  const cfg: VringConfig = {
    format: 'packed', size, descAddr: RING, availAddr: DRV_EVT, usedAddr: DEV_EVT, eventIdx: false, indirect: false, inOrder: false, ...extra,
  };
  const dev = PackedQueueDevice.fromConfig(mem, cfg);
  const desc = (slot: number, addr: number | bigint, len: number, id: number, flags: number, at = RING): void => {
    const o = at + 16 * slot;
    mem.writeU64(o, BigInt(addr));
    mem.writeU32(o + 8, len);
    mem.writeU16(o + 12, id);
    mem.writeU16(o + 14, flags);
  };
  const flagsAt = (slot: number): number => mem.readU16(RING + 16 * slot + 14);
  const usedAt = (slot: number) => ({ id: mem.readU16(RING + 16 * slot + 12), len: mem.readU32(RING + 16 * slot + 8), flags: flagsAt(slot) });
  return { mem, dev, desc, flagsAt, usedAt, cfg };
}

const AV1 = F.AVAIL; // available in wrap 1
const AV0 = F.USED; // available in wrap 0
const USED1 = F.AVAIL | F.USED;

const chainOf = (r: Chain | ChainError | undefined): Chain => {
  if (!(r instanceof Chain)) throw new Error(`expected a chain, got ${String(r)}`);
  return r;
};
const errOf = (r: Chain | ChainError | undefined): ChainError => {
  if (!isChainError(r)) throw new Error(`expected a ChainError, got ${String(r)}`);
  return r;
};

describe('PackedQueueDevice: availability (VU-PK-001/002)', () => {
  it('sees nothing in a zero-filled ring', () => {
    const { dev } = setup(8);
    expect(dev.hasAvailable()).toBe(false);
    expect(dev.pop()).toBeUndefined();
    expect(dev.state).toEqual({ lastAvailIdx: 0, availWrapCounter: true, usedIdx: 0, usedWrapCounter: true });
  });

  it('ignores the AVAIL=USED=1 pattern and AVAIL=0/USED=1 in wrap 1', () => {
    const { dev, desc } = setup();
    desc(0, B, 4, 0, USED1);
    expect(dev.pop()).toBeUndefined();
    desc(0, B, 4, 0, AV0);
    expect(dev.pop()).toBeUndefined();
    desc(0, B, 4, 0, AV1);
    expect(chainOf(dev.pop()).readableBytes).toBe(4);
  });

  it('refuses a chain whose tail was not made available (VU-PK-002)', () => {
    const { dev, desc } = setup();
    desc(0, B, 4, 0, AV1 | F.NEXT);
    desc(1, B, 4, 0, 0);
    const e = errOf(dev.pop());
    expect(e.rule).toBe('VU-PK-002');
    expect(dev.state.lastAvailIdx).toBe(0); // nothing consumed
  });

  it('with uncheckedChainTail (a fault) takes the unavailable tail and its stale id, as DPDK does', () => {
    const { dev, desc } = setup(4, { uncheckedChainTail: true });
    desc(0, B, 4, 0, AV1 | F.NEXT);
    desc(1, B, 8, 3, 0);
    const c = chainOf(dev.pop());
    expect(c.head).toBe(3);
    expect(c.readableBytes).toBe(12);
    // The head itself must still be available.
    const fresh = setup(4, { uncheckedChainTail: true });
    fresh.desc(0, B, 4, 0, F.NEXT);
    expect(fresh.dev.pop()).toBeUndefined();
  });
});

describe('PackedQueueDevice: chains and used descriptors', () => {
  it('marks a chain used at its first slot with the last id, WRITE iff data, flags published on flush (VU-PK-003/005)', () => {
    const { mem, dev, desc, usedAt, flagsAt } = setup(8);
    mem.write(B, new Uint8Array([1, 2]));
    desc(0, B, 2, 99, AV1 | F.NEXT);
    desc(1, B + 0x100, 8, 98, AV1 | F.NEXT | F.WRITE);
    desc(2, B + 0x200, 8, 7, AV1 | F.WRITE); // the id that counts is the last one's
    desc(3, B, 1, 3, AV1);
    const c = chainOf(dev.pop());
    expect(c.head).toBe(7);
    expect(c.ringSlots).toBe(3);
    expect([...c.readAll()]).toEqual([1, 2]);
    expect(c.writableBytes).toBe(16);
    const d = chainOf(dev.pop());
    expect(d.head).toBe(3);
    dev.pushUsed(c.head, 10, c.ringSlots);
    dev.pushUsed(d.head, 0, d.ringSlots);
    expect(flagsAt(0)).toBe(AV1 | F.NEXT); // first of the batch held back
    expect(usedAt(3)).toEqual({ id: 3, len: 0, flags: USED1 }); // later ones written, no WRITE
    dev.flushUsed();
    expect(usedAt(0)).toEqual({ id: 7, len: 10, flags: USED1 | F.WRITE });
    expect(dev.state.usedIdx).toBe(4);
  });

  it('flips both wrap counters past the end of a size-3 ring and continues a chain across it (VU-PK-004)', () => {
    const { dev, desc, usedAt } = setup(3);
    desc(0, B, 1, 0, AV1);
    desc(1, B, 1, 1, AV1);
    dev.pushUsed(chainOf(dev.pop()).head, 0, 1);
    dev.pushUsed(chainOf(dev.pop()).head, 0, 1);
    dev.flushUsed();
    desc(2, B, 1, 2, AV1 | F.NEXT); // crosses the end: the tail is in wrap 0
    desc(0, B + 8, 1, 5, AV0);
    const c = chainOf(dev.pop());
    expect(c.head).toBe(5);
    expect(c.ringSlots).toBe(2);
    expect(dev.state).toMatchObject({ lastAvailIdx: 1, availWrapCounter: false });
    dev.pushUsed(c.head, 0, c.ringSlots);
    dev.flushUsed();
    expect(usedAt(2)).toEqual({ id: 5, len: 0, flags: USED1 });
    expect(dev.state).toMatchObject({ usedIdx: 1, usedWrapCounter: false });
    // In wrap 0 a used descriptor has AVAIL = USED = 0.
    desc(1, B, 1, 6, AV0);
    dev.pushUsed(chainOf(dev.pop()).head, 0, 1);
    dev.flushUsed();
    expect(usedAt(1)).toEqual({ id: 6, len: 0, flags: 0 });
  });

  it('never walks more than the ring when every descriptor says NEXT', () => {
    const { dev, desc } = setup(2);
    desc(0, B, 1, 0, AV1 | F.NEXT);
    desc(1, B, 1, 0, AV1 | F.NEXT);
    const scratch = new Chain();
    expect(errOf(dev.pop(scratch)).rule).toMatch(/VU-PK-00[25]/);
    expect(scratch.ringSlots).toBeLessThanOrEqual(2);
  });

  it('rejects a buffer outside guest memory, including near 2^64 (VU-DP-014)', () => {
    const { dev, desc } = setup();
    desc(0, 2n ** 64n - 8n, 16, 0, AV1);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-014');
  });
});

describe('PackedQueueDevice: indirect (VU-PK-008)', () => {
  it('honours only WRITE in table entries and ignores WRITE on the pointer', () => {
    const { mem, dev, desc } = setup(4, { indirect: true });
    mem.write(B, new Uint8Array([4, 5, 6]));
    desc(0, B, 3, 0xbeef, F.NEXT | F.INDIRECT | AV1 | F.USED, T); // garbage flags and id: ignored
    desc(1, B + 0x100, 4, 0xbeef, F.WRITE | F.NEXT, T);
    desc(0, T, 32, 2, AV1 | F.INDIRECT | F.WRITE);
    const c = chainOf(dev.pop());
    expect(c.head).toBe(2);
    expect(c.ringSlots).toBe(1);
    expect(c.descCount).toBe(3);
    expect(c.indirect).toBe(true);
    expect([...c.readAll()]).toEqual([4, 5, 6]);
    expect(c.writableBytes).toBe(4);
  });

  it.each([
    ['without INDIRECT_DESC', false, 32, 0],
    ['with NEXT on the pointer', true, 32, F.NEXT],
    ['with a length not a multiple of 16', true, 20, 0],
  ])('rejects an indirect descriptor %s (VU-DP-016)', (_name, indirect, len, extra) => {
    const { dev, desc } = setup(4, { indirect });
    desc(0, B, 1, 0, 0, T);
    desc(1, B, 1, 0, 0, T);
    desc(0, T, len, 1, AV1 | F.INDIRECT | extra);
    desc(1, B, 1, 1, AV1);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-016');
  });
});

describe('PackedQueueDevice: event suppression (VU-PK-009)', () => {
  function usedOne(s: ReturnType<typeof setup>, slot: number, wrapFlags: number): void {
    s.desc(slot, B, 1, slot, wrapFlags);
    const c = chainOf(s.dev.pop());
    s.dev.pushUsed(c.head, 0, 1);
    s.dev.flushUsed();
  }

  it('follows the driver event flags ENABLE and DISABLE', () => {
    const s = setup(4);
    usedOne(s, 0, AV1);
    expect(s.dev.needsNotify()).toBe(true);
    expect(s.dev.needsNotify()).toBe(false); // nothing new
    s.mem.writeU16(DRV_EVT + PACKED_EVENT.FLAGS, PackedEventFlag.DISABLE);
    usedOne(s, 1, AV1);
    expect(s.dev.needsNotify()).toBe(false);
    s.mem.writeU16(DRV_EVT + PACKED_EVENT.FLAGS, PackedEventFlag.ENABLE);
    usedOne(s, 2, AV1);
    expect(s.dev.needsNotify()).toBe(true);
  });

  it('with EVENT_IDX notifies once, when the used position reaches the driver offset/wrap, across laps', () => {
    const s = setup(3, { eventIdx: true });
    usedOne(s, 0, AV1);
    s.dev.needsNotify();
    // Interrupt when the used descriptor at slot 1 of the wrap-0 lap is written.
    s.mem.writeU16(DRV_EVT + PACKED_EVENT.OFF_WRAP, 1);
    s.mem.writeU16(DRV_EVT + PACKED_EVENT.FLAGS, PackedEventFlag.DESC);
    const hits: string[] = [];
    const seq: Array<[number, number]> = [[1, AV1], [2, AV1], [0, AV0], [1, AV0], [2, AV0], [0, AV1], [1, AV1]];
    for (const [slot, fl] of seq) {
      const before = s.dev.state;
      usedOne(s, slot, fl);
      if (s.dev.needsNotify()) hits.push(`${before.usedIdx}/${before.usedWrapCounter ? 1 : 0}`);
    }
    expect(hits).toEqual(['1/0']);
  });

  it('writes only the device area: DISABLE, ENABLE, or DESC at the next avail slot with EVENT_IDX', () => {
    const a = setup(4);
    a.dev.setNotification(false);
    expect(a.mem.readU16(DEV_EVT + 2)).toBe(PackedEventFlag.DISABLE);
    a.desc(0, B, 1, 0, AV1);
    expect(a.dev.setNotification(true)).toBe(true); // pending chain found on re-enable
    expect(a.mem.readU16(DEV_EVT + 2)).toBe(PackedEventFlag.ENABLE);
    expect(a.mem.readU32(DRV_EVT)).toBe(0);

    const b = setup(2, { eventIdx: true });
    expect(b.dev.setNotification(true)).toBe(false);
    expect(b.mem.readU16(DEV_EVT + 2)).toBe(PackedEventFlag.DESC);
    expect(b.mem.readU16(DEV_EVT)).toBe(0x8000); // slot 0, wrap 1
    b.desc(0, B, 1, 0, AV1);
    b.desc(1, B, 1, 1, AV1);
    b.dev.pop();
    b.dev.pop();
    expect(b.mem.readU16(DEV_EVT)).toBe(0); // slot 0, wrap 0
  });
});

describe('packed vring base (CHECKLIST §3.3, VU-PK-011)', () => {
  it('encodes the bit layout', () => {
    expect(encodePackedVringBase({ lastAvailIdx: 5, availWrapCounter: true, usedIdx: 3, usedWrapCounter: false })).toBe(0x0003_8005);
    expect(encodePackedVringBase({ lastAvailIdx: 0x7fff, availWrapCounter: false, usedIdx: 0, usedWrapCounter: true })).toBe(0x8000_7fff);
  });

  it('round-trips every state', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fff }), fc.boolean(), fc.integer({ min: 0, max: 0x7fff }), fc.boolean(), (a, aw, u, uw) => {
        const s = { lastAvailIdx: a, availWrapCounter: aw, usedIdx: u, usedWrapCounter: uw };
        const v = encodePackedVringBase(s);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(decodePackedVringBase(v)).toEqual(s);
      }),
    );
  });

  it('restores a device mid-lap from GET_VRING_BASE of another', () => {
    const s = setup(3);
    s.desc(0, B, 1, 0, AV1);
    s.desc(1, B, 1, 1, AV1);
    s.desc(2, B, 1, 2, AV1);
    for (let i = 0; i < 3; i++) s.dev.pushUsed(chainOf(s.dev.pop()).head, 0, 1);
    s.dev.flushUsed();
    s.desc(0, B, 1, 4, AV0);
    s.dev.pushUsed(chainOf(s.dev.pop()).head, 0, 1);
    s.dev.flushUsed();
    const base = s.dev.vringBase;
    const again = PackedQueueDevice.fromConfig(s.mem, { ...s.cfg, ...decodePackedVringBase(base) });
    expect(again.vringBase).toBe(base);
    expect(again.pop()).toBeUndefined(); // slot 1 still holds wrap-1 data: not available in wrap 0
    s.desc(1, B, 1, 5, AV0);
    expect(chainOf(again.pop()).head).toBe(5);
    again.pushUsed(5, 0, 1);
    again.flushUsed();
    expect(s.usedAt(1)).toEqual({ id: 5, len: 0, flags: 0 });
  });
});

describe('PackedQueueDevice.fromConfig', () => {
  const mem = testMemory([[0, 0x1_0000]]);
  const ok: VringConfig = { format: 'packed', size: 1000, descAddr: RING, availAddr: DRV_EVT, usedAddr: DEV_EVT, eventIdx: false, indirect: false, inOrder: false };
  it('accepts a non-power-of-two size', () => {
    expect(PackedQueueDevice.fromConfig(mem, ok).size).toBe(1000);
  });
  it.each([
    ['size 0', { size: 0 }, /size/],
    ['size 32769', { size: 32769 }, /size/],
    ['a misaligned ring', { descAddr: RING + 8 }, /descAddr .* aligned to 16/],
    ['a misaligned driver area', { availAddr: DRV_EVT + 2 }, /driver event area.* aligned to 4/],
    ['a device area outside memory', { usedAddr: 0x1_0000 }, /device event area.* not inside/],
    ['a ring running off memory', { descAddr: 0x1_0000 - 16 * 999 }, /descAddr .* not inside/],
    ['split format', { format: 'split' as const }, /expected packed/],
    ['a restored avail index ≥ size', { lastAvailIdx: 1000 }, /lastAvailIdx/],
  ])('rejects %s', (_name, patch, why) => {
    expect(() => PackedQueueDevice.fromConfig(mem, { ...ok, ...patch })).toThrow(QueueConfigError);
    expect(() => PackedQueueDevice.fromConfig(mem, { ...ok, ...patch })).toThrow(why);
  });
});

describe('PackedQueueDevice: the one-descriptor fast path (peekFlat)', () => {
  it('takes a lone descriptor without consuming it until skipFlat, and leaves everything else to pop', () => {
    const { dev, desc, usedAt } = setup(4);
    const seg = new Segment();
    expect(dev.peekFlat(seg, false, 0)).toBe(-1); // nothing available
    desc(0, B + 0x40, 64, 7, AV1);
    // The walker's region cache is cold: the first chain is for pop, which fills it.
    expect(dev.peekFlat(seg, false, 0)).toBe(-2);
    expect(chainOf(dev.pop(new Chain())).head).toBe(7);
    desc(1, B + 0x80, 64, 9, AV1);
    expect(dev.peekFlat(seg, true, 0)).toBe(-2); // WRITE differs
    expect(dev.peekFlat(seg, false, 65)).toBe(-2); // shorter than asked
    expect(dev.peekFlat(seg, false, 12)).toBe(9);
    expect(dev.peekFlat(seg, false, 12)).toBe(9); // still there: peeking consumes nothing
    expect(seg).toMatchObject({ addr: B + 0x80, len: 64, hostOffset: 0x80 });
    dev.skipFlat();
    expect(dev.state.lastAvailIdx).toBe(2);
    dev.pushUsed(9, 0, 1);
    dev.flushUsed();
    expect(usedAt(0)).toEqual({ id: 9, len: 0, flags: USED1 });
    // A two-descriptor chain (its tail a zero-length buffer) goes through pop.
    desc(2, B + 0x100, 16, 1, AV1 | F.NEXT);
    desc(3, B + 0x200, 0, 2, AV1);
    expect(dev.peekFlat(seg, false, 0)).toBe(-2);
    expect(chainOf(dev.pop(new Chain())).ringSlots).toBe(2);
    // Past the end of guest memory: pop reports it, the fast path never accepts it.
    desc(0, 0x7fff_0000, 16, 3, AV0);
    expect(dev.peekFlat(seg, false, 0)).toBe(-2);
    expect(errOf(dev.pop(new Chain())).rule).toBe('VU-DP-014');
  });
});

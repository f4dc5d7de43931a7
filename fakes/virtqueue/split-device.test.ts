import { describe, expect, it } from 'vitest';
import { AVAIL_F_NO_INTERRUPT, DescFlag, USED_F_NO_NOTIFY } from '../wire/ring-layout.js';
import { Chain, ChainError, Segment, isChainError } from './chain-walker.js';
import { QueueConfigError } from './queue-config.js';
import { SplitQueueDevice } from './split-device.js';
import { HandSplitRing, writeDesc } from './__test-helpers__/split-ring.js';
import { testMemory } from './__test-helpers__/test-memory.js';

// Rings in [0, 64K); buffers in B = [1M, 1M+64K) followed directly by C = [1M+64K, +4K); then a gap.
const B = 0x10_0000;
const C = B + 0x1_0000;
const GAP = C + 0x1000;

function setup(size = 8, extra = {}) {
  const mem = testMemory([[0, 0x1_0000], [B, 0x1_0000], [C, 0x1000]]);
  const ring = new HandSplitRing(mem, size, 0x1000);
  const dev = SplitQueueDevice.fromConfig(mem, ring.config(extra));
  return { mem, ring, dev };
}

const chainOf = (r: Chain | ChainError | undefined): Chain => {
  if (!(r instanceof Chain)) throw new Error(`expected a chain, got ${String(r)}`);
  return r;
};
const errOf = (r: Chain | ChainError | undefined): ChainError => {
  if (!isChainError(r)) throw new Error(`expected a ChainError, got ${String(r)}`);
  return r;
};

describe('SplitQueueDevice: chains', () => {
  it('pops a single readable descriptor and returns it through the used ring', () => {
    const { mem, ring, dev } = setup();
    mem.write(B, new Uint8Array([1, 2, 3, 4]));
    ring.desc(5, { addr: B, len: 4 });
    expect(dev.availableCount()).toBe(0);
    expect(dev.pop()).toBeUndefined();
    ring.offer(5);
    expect(dev.availableCount()).toBe(1);
    const c = chainOf(dev.pop());
    expect(c.head).toBe(5);
    expect(c.readableBytes).toBe(4);
    expect(c.writableBytes).toBe(0);
    expect([...c.readable[0].bytes]).toEqual([1, 2, 3, 4]);
    expect(dev.pop()).toBeUndefined();
    dev.pushUsed(5, 0);
    expect(ring.usedIdx()).toBe(0); // not visible before flush
    dev.flushUsed();
    expect(ring.usedIdx()).toBe(1);
    expect(ring.usedElem(0)).toEqual({ id: 5, len: 0 });
    expect(dev.lastAvailIdx).toBe(1);
    expect(dev.usedIdx).toBe(1);
  });

  it('walks NEXT chains, splits readable from writable, and writes into the writable part', () => {
    const { mem, ring, dev } = setup();
    mem.write(B, new Uint8Array([9, 8]));
    mem.write(B + 0x100, new Uint8Array([7]));
    ring.desc(0, { addr: B, len: 2, flags: DescFlag.NEXT, next: 3 });
    ring.desc(3, { addr: B + 0x100, len: 1, flags: DescFlag.NEXT, next: 6 });
    ring.desc(6, { addr: B + 0x200, len: 8, flags: DescFlag.WRITE });
    ring.offer(0);
    const c = chainOf(dev.pop());
    expect(c.descCount).toBe(3);
    expect([...c.readAll()]).toEqual([9, 8, 7]);
    expect(c.writableBytes).toBe(8);
    expect(c.writeAll(new Uint8Array([5, 5, 5]))).toBe(3);
    expect([...mem.read(B + 0x200, 4)]).toEqual([5, 5, 5, 0]);
  });

  it('reuses the chain and its segments when popping into the same object', () => {
    const { ring, dev } = setup();
    ring.desc(0, { addr: B, len: 16 });
    ring.desc(1, { addr: B + 16, len: 16 });
    ring.offer(0);
    ring.offer(1);
    const chain = new Chain();
    const a = chainOf(dev.pop(chain));
    const seg = a.readable[0];
    const b = chainOf(dev.pop(chain));
    expect(b).toBe(chain);
    expect(b.readable[0]).toBe(seg);
    expect(b.head).toBe(1);
    expect(seg.addr).toBe(B + 16);
  });

  it('splits a buffer spanning GPA-contiguous regions into two segments', () => {
    const { ring, dev } = setup();
    ring.desc(0, { addr: C - 8, len: 16 });
    ring.offer(0);
    const c = chainOf(dev.pop());
    expect(c.readable.map((s) => [s.addr, s.len])).toEqual([[C - 8, 8], [C, 8]]);
    expect(c.readableBytes).toBe(16);
  });

  it('skips zero-length descriptors (CHECKLIST D8)', () => {
    const { ring, dev } = setup();
    ring.desc(0, { addr: 0xdead_beef_0000n, len: 0, flags: DescFlag.NEXT, next: 1 });
    ring.desc(1, { addr: B, len: 4 });
    ring.offer(0);
    const c = chainOf(dev.pop());
    expect(c.readable.length).toBe(1);
    expect(c.descCount).toBe(2);
  });

  it('accepts a chain of exactly queue-size descriptors', () => {
    const { ring, dev } = setup(4);
    for (let i = 0; i < 4; i++) ring.desc(i, { addr: B + i, len: 1, flags: i < 3 ? DescFlag.NEXT : 0, next: i + 1 });
    ring.offer(0);
    expect(chainOf(dev.pop()).descCount).toBe(4);
  });
});

describe('SplitQueueDevice: driver errors', () => {
  it.each([
    ['self loop', [[0, 0]]],
    ['two-cycle', [[0, 1], [1, 0]]],
    ['cycle after a tail', [[0, 1], [1, 2], [2, 1]]],
  ])('stops a %s with VU-DP-005', (_name, links) => {
    const { ring, dev } = setup(4);
    for (const [i, next] of links) ring.desc(i, { addr: B, len: 1, flags: DescFlag.NEXT, next });
    ring.offer(0);
    const scratch = new Chain();
    const e = errOf(dev.pop(scratch));
    expect(e.rule).toBe('VU-DP-005');
    expect(e.head).toBe(0);
    expect(scratch.descCount).toBe(4); // the walk read exactly queue-size descriptors
    expect(dev.lastAvailIdx).toBe(1); // the bad head is consumed, the queue moves on
  });

  it('rejects a head or next ≥ queue size (VU-DP-004)', () => {
    const { ring, dev } = setup(4);
    ring.offer(4);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-004');
    ring.desc(1, { addr: B, len: 1, flags: DescFlag.NEXT, next: 9 });
    ring.offer(1);
    const e = errOf(dev.pop());
    expect(e.rule).toBe('VU-DP-004');
    expect(e.reason).toContain('next 9');
  });

  it.each([
    ['in the gap after the last region', BigInt(GAP), 4],
    ['crossing into the gap', BigInt(GAP - 2), 4],
    ['near 2^64 with wrapping addr + len', 2n ** 64n - 16n, 32],
    ['at 2^64 - 1', 2n ** 64n - 1n, 1],
    ['at 2^53', 2n ** 53n, 1],
    ['between two regions', 0x2_0000n, 1],
  ])('rejects a buffer %s (VU-DP-014)', (_name, addr, len) => {
    const { ring, dev } = setup();
    ring.desc(2, { addr, len });
    ring.offer(2);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-014');
  });

  it('rejects a readable descriptor after a writable one (VU-DP-013)', () => {
    const { ring, dev } = setup();
    ring.desc(0, { addr: B, len: 4, flags: DescFlag.WRITE | DescFlag.NEXT, next: 1 });
    ring.desc(1, { addr: B + 4, len: 4 });
    ring.offer(0);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-013');
  });

  it('consumes only published heads and never beyond avail->idx (VU-DP-001/019)', () => {
    const { ring, dev } = setup();
    ring.desc(0, { addr: B, len: 4 });
    ring.offer(0, false); // staged, not published
    expect(dev.pop()).toBeUndefined();
    expect(dev.lastAvailIdx).toBe(0);
    ring.setAvailIdx(1);
    expect(chainOf(dev.pop()).head).toBe(0);
  });

  it.each([
    ['by size + 1', 9],
    ['backwards by one', 0xffff],
  ])('reports an avail->idx jump %s (VU-DP-003) without consuming', (_name, idx) => {
    const { ring, dev } = setup(8);
    ring.setAvailIdx(idx);
    const e = errOf(dev.pop());
    expect(e.rule).toBe('VU-DP-003');
    expect(e.head).toBe(-1);
    expect(dev.lastAvailIdx).toBe(0);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-003'); // still reported, still nothing consumed
  });

  it('accepts avail->idx exactly size ahead', () => {
    const { ring, dev } = setup(4);
    for (let i = 0; i < 4; i++) {
      ring.desc(i, { addr: B, len: 1 });
      ring.offer(i);
    }
    let n = 0;
    while (dev.pop() !== undefined) n++;
    expect(n).toBe(4);
  });
});

describe('SplitQueueDevice: indirect descriptors', () => {
  const T = B + 0x8000; // indirect table

  it('is refused unless INDIRECT_DESC was negotiated (VU-DP-016)', () => {
    const { ring, dev } = setup();
    writeDesc(ring.mem, T, { addr: B, len: 4 });
    ring.desc(0, { addr: T, len: 16, flags: DescFlag.INDIRECT });
    ring.offer(0);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-016');
  });

  it('walks a table chained by next, after direct descriptors, ignoring WRITE on the pointer', () => {
    const { mem, ring, dev } = setup(8, { indirect: true });
    mem.write(B, new Uint8Array([1]));
    mem.write(B + 1, new Uint8Array([2, 3]));
    writeDesc(mem, T, { addr: B + 1, len: 2, flags: DescFlag.NEXT, next: 2 });
    writeDesc(mem, T + 16, { addr: 0xffff_ffff_ffffn, len: 99 }); // not on the chain
    writeDesc(mem, T + 32, { addr: B + 0x100, len: 6, flags: DescFlag.WRITE });
    ring.desc(0, { addr: B, len: 1, flags: DescFlag.NEXT, next: 1 });
    ring.desc(1, { addr: T, len: 48, flags: DescFlag.INDIRECT | DescFlag.WRITE });
    ring.offer(0);
    const c = chainOf(dev.pop());
    expect([...c.readAll()]).toEqual([1, 2, 3]);
    expect(c.writableBytes).toBe(6);
    expect(c.descCount).toBe(4); // direct, pointer, two table entries
    expect(c.indirect).toBe(true);
    // The same Chain reused for a direct chain forgets the flag.
    ring.desc(2, { addr: B, len: 1 });
    ring.offer(2);
    expect(dev.pop(c)).toBe(c);
    expect(c.indirect).toBe(false);
  });

  it.each([
    ['nested INDIRECT in a table', () => [{ addr: T + 64, len: 16, flags: DescFlag.INDIRECT }], 16, 0],
    ['INDIRECT together with NEXT', () => [{ addr: B, len: 4 }], 16, DescFlag.NEXT],
    ['a table length that is not a multiple of 16', () => [{ addr: B, len: 4 }], 24, 0],
    ['a zero-length table', () => [], 0, 0],
  ])('rejects %s (VU-DP-016)', (_name, entries, len, extraFlags) => {
    const { mem, ring, dev } = setup(8, { indirect: true });
    entries().forEach((d, i) => writeDesc(mem, T + 16 * i, d));
    ring.desc(0, { addr: T, len, flags: DescFlag.INDIRECT | extraFlags, next: 1 });
    ring.desc(1, { addr: B, len: 1 });
    ring.offer(0);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-016');
  });

  it('rejects a table larger than the queue size or outside memory (VU-DP-017)', () => {
    const { ring, dev } = setup(4, { indirect: true });
    ring.desc(0, { addr: T, len: 16 * 5, flags: DescFlag.INDIRECT });
    ring.desc(1, { addr: GAP - 16, len: 32, flags: DescFlag.INDIRECT });
    ring.offer(0);
    ring.offer(1);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-017');
    expect(errOf(dev.pop()).rule).toBe('VU-DP-017');
  });

  it('bounds a next-cycle inside a table by the table length (VU-DP-005)', () => {
    const { mem, ring, dev } = setup(8, { indirect: true });
    writeDesc(mem, T, { addr: B, len: 1, flags: DescFlag.NEXT, next: 1 });
    writeDesc(mem, T + 16, { addr: B, len: 1, flags: DescFlag.NEXT, next: 0 });
    ring.desc(0, { addr: T, len: 32, flags: DescFlag.INDIRECT });
    ring.offer(0);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-005');
  });
});

describe('SplitQueueDevice: notifications', () => {
  function complete(ring: HandSplitRing, dev: SplitQueueDevice): void {
    ring.desc(0, { addr: B, len: 1 });
    ring.offer(0);
    const c = chainOf(dev.pop());
    dev.pushUsed(c.head, 0);
    dev.flushUsed();
  }

  it('without EVENT_IDX follows avail->flags NO_INTERRUPT (VU-EVT-001)', () => {
    const { ring, dev } = setup();
    complete(ring, dev);
    expect(dev.needsNotify()).toBe(true);
    expect(dev.needsNotify()).toBe(false); // nothing new used
    ring.setAvailFlags(AVAIL_F_NO_INTERRUPT);
    complete(ring, dev);
    expect(dev.needsNotify()).toBe(false);
    ring.setAvailFlags(0);
    complete(ring, dev);
    expect(dev.needsNotify()).toBe(true);
  });

  it('with EVENT_IDX notifies exactly when used->idx crosses used_event, across the 16-bit wrap (VU-EVT-002)', () => {
    const start = 0xfffa;
    const mem = testMemory([[0, 0x1_0000], [B, 0x1_0000]]);
    const ring = new HandSplitRing(mem, 4, 0x1000);
    ring.availIdx = start;
    ring.setAvailIdx(start);
    mem.writeU16(ring.usedAddr + 2, start);
    const dev = SplitQueueDevice.fromConfig(mem, ring.config({ eventIdx: true, lastAvailIdx: start }));
    expect(dev.usedIdx).toBe(start); // read from the ring when not restored
    ring.setAvailFlags(AVAIL_F_NO_INTERRUPT); // ignored with EVENT_IDX
    complete(ring, dev);
    expect(dev.needsNotify()).toBe(true); // first decision after start is never suppressed
    ring.setUsedEvent(0x0002); // interrupt once used->idx passes 2, i.e. reaches 3
    const signalled: number[] = [];
    for (let i = 0; i < 10; i++) {
      complete(ring, dev);
      if (dev.needsNotify()) signalled.push(dev.usedIdx);
    }
    expect(signalled).toEqual([0x0003]);
    expect(dev.usedIdx).toBe((start + 11) & 0xffff);
  });

  it('with EVENT_IDX notifies once for a batch that jumps over used_event', () => {
    const { ring, dev } = setup(8, { eventIdx: true });
    complete(ring, dev);
    dev.needsNotify();
    ring.setUsedEvent(3);
    for (let i = 0; i < 4; i++) {
      ring.desc(i, { addr: B, len: 1 });
      ring.offer(i);
    }
    for (let i = 0; i < 4; i++) dev.pushUsed(chainOf(dev.pop()).head, 0);
    dev.flushUsed();
    expect(dev.usedIdx).toBe(5);
    expect(dev.needsNotify()).toBe(true);
    expect(dev.needsNotify()).toBe(false);
  });

  it('suppresses kicks with used->flags, or avail_event with EVENT_IDX, and re-checks on enable (VU-EVT-005)', () => {
    const a = setup();
    expect(a.dev.setNotification(false)).toBe(false);
    expect(a.ring.usedFlags()).toBe(USED_F_NO_NOTIFY);
    a.ring.desc(0, { addr: B, len: 1 });
    a.ring.offer(0);
    expect(a.dev.setNotification(true)).toBe(true); // a buffer arrived while kicks were off
    expect(a.ring.usedFlags()).toBe(0);

    const b = setup(8, { eventIdx: true });
    b.ring.desc(0, { addr: B, len: 1 });
    b.ring.offer(0);
    b.ring.offer(0);
    expect(b.dev.setNotification(true)).toBe(true);
    expect(b.ring.availEvent()).toBe(0);
    b.dev.pop();
    expect(b.ring.availEvent()).toBe(1); // kept at the next index to consume
    b.dev.setNotification(false);
    b.dev.pop();
    expect(b.ring.availEvent()).toBe(1); // no longer advanced
    expect(b.ring.usedFlags()).toBe(0); // never written with EVENT_IDX (VU-EVT-003)
  });
});

describe('SplitQueueDevice: state and in-order', () => {
  it('restores lastAvailIdx/usedIdx from the config', () => {
    const { mem, ring } = setup();
    const dev = SplitQueueDevice.fromConfig(mem, ring.config({ lastAvailIdx: 300, usedIdx: 299 }));
    expect(dev.lastAvailIdx).toBe(300);
    expect(dev.usedIdx).toBe(299);
    ring.desc(3, { addr: B, len: 1 });
    ring.availIdx = 300;
    ring.offer(3); // slot 300 & 7 = 4
    expect(chainOf(dev.pop()).head).toBe(3);
    dev.pushUsed(3, 0);
    dev.flushUsed();
    expect(ring.usedIdx()).toBe(300);
    expect(ring.usedElem(299)).toEqual({ id: 3, len: 0 });
  });

  it('writes one used element per in-order batch at the slot of its first chain (VU-ORD-002)', () => {
    const { ring, dev } = setup(8, { inOrder: true });
    for (let i = 0; i < 3; i++) {
      ring.desc(i, { addr: B, len: 1 });
      ring.offer(i);
      dev.pop();
    }
    dev.pushUsedInOrder(2, 0, 3);
    dev.flushUsed();
    expect(ring.usedIdx()).toBe(3);
    expect(ring.usedElem(0)).toEqual({ id: 2, len: 0 });
  });

  it('refuses more pending used elements than the queue holds', () => {
    const { dev } = setup(2);
    dev.pushUsed(0, 0);
    dev.pushUsed(1, 0);
    expect(() => dev.pushUsed(0, 0)).toThrow(/pending/);
  });
});

describe('SplitQueueDevice.fromConfig', () => {
  const mem = testMemory([[0, 0x1_0000]]);
  const ok = new HandSplitRing(mem, 8, 0x1000).config();
  it.each([
    ['a size that is not a power of two', { size: 3 }, /power of two/],
    ['size 0', { size: 0 }, /power of two/],
    ['size 65536', { size: 65536 }, /power of two/],
    ['a misaligned descriptor table', { descAddr: 0x1008 }, /descAddr .* aligned to 16/],
    ['a misaligned avail ring', { availAddr: 0x1081 }, /availAddr .* aligned to 2/],
    ['a misaligned used ring', { usedAddr: 0x1102 }, /usedAddr .* aligned to 4/],
    ['a used ring running off memory', { usedAddr: 0x1_0000 - 8 }, /usedAddr .* not inside guest memory/],
    ['an unmapped table', { descAddr: 0x10_0000 }, /descAddr .* not inside/],
    ['a negative address', { availAddr: -2 }, /not a valid address/],
    ['packed format', { format: 'packed' as const }, /expected split/],
    ['lastAvailIdx out of range', { lastAvailIdx: 65536 }, /lastAvailIdx/],
  ])('rejects %s', (_name, patch, why) => {
    const err = (() => {
      try {
        SplitQueueDevice.fromConfig(mem, { ...ok, ...patch });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(QueueConfigError);
    expect((err as QueueConfigError).code).toBe('VHU_ERR_QUEUE_CONFIG');
    expect((err as QueueConfigError).reason).toMatch(why);
  });
});

describe('SplitQueueDevice: the one-descriptor fast path (peekFlat)', () => {
  it('takes a lone descriptor without consuming it until skipFlat, and leaves everything else to pop', () => {
    const { ring, dev } = setup();
    const seg = new Segment();
    expect(dev.peekFlat(seg, true, 0)).toBe(-1);
    ring.desc(2, { addr: B, len: 32, flags: DescFlag.WRITE });
    ring.offer(2);
    expect(dev.peekFlat(seg, true, 0)).toBe(-2); // cold region cache: pop fills it
    expect(chainOf(dev.pop()).head).toBe(2);
    ring.desc(4, { addr: B + 0x100, len: 32, flags: DescFlag.WRITE });
    ring.offer(4);
    expect(dev.peekFlat(seg, false, 0)).toBe(-2); // WRITE differs
    expect(dev.peekFlat(seg, true, 33)).toBe(-2); // too short
    expect(dev.peekFlat(seg, true, 32)).toBe(4);
    expect(dev.lastAvailIdx).toBe(1); // not consumed
    expect(seg).toMatchObject({ addr: B + 0x100, len: 32 });
    dev.skipFlat();
    expect(dev.lastAvailIdx).toBe(2);
    // A chain, and a head outside the ring, are pop's.
    ring.desc(5, { addr: B, len: 8, flags: DescFlag.NEXT, next: 6 });
    ring.desc(6, { addr: B + 8, len: 8 });
    ring.offer(5);
    expect(dev.peekFlat(seg, false, 0)).toBe(-2);
    expect(chainOf(dev.pop()).readableBytes).toBe(16);
    ring.offer(8);
    expect(dev.peekFlat(seg, false, 0)).toBe(-2);
    expect(errOf(dev.pop()).rule).toBe('VU-DP-004');
  });
});

describe('SplitQueueDevice: a legacy big-endian ring (VU-FEAT-008)', () => {
  /** Big-endian bytes of `v` in `n` bytes (n = 2, 4 or 8). */
  const be = (v: bigint | number, n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let x = BigInt(v);
    for (let i = n - 1; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
    return out;
  };

  it('reads descriptors, avail entries and indices big-endian and writes the used ring big-endian', () => {
    // Buffers above 4 GiB, so the high address word matters.
    const HIGH = 0x1_0000_0000;
    const mem = testMemory([[0, 0x1_0000], [HIGH, 0x1_0000]]);
    const ring = new HandSplitRing(mem, 8, 0x1000);
    const desc = (i: number, addr: number, len: number, flags: number, next: number): void => {
      const at = ring.descAddr + i * 16;
      mem.write(at, be(addr, 8));
      mem.write(at + 8, be(len, 4));
      mem.write(at + 12, be(flags, 2));
      mem.write(at + 14, be(next, 2));
    };
    mem.write(HIGH + 0x10, new Uint8Array([1, 2, 3]));
    desc(2, HIGH + 0x10, 3, DescFlag.NEXT, 5);
    desc(5, HIGH + 0x800, 16, DescFlag.WRITE, 0);
    mem.write(ring.availAddr + 4, be(2, 2)); // ring[0] = head 2
    mem.write(ring.availAddr + 2, be(1, 2)); // idx = 1
    const dev = SplitQueueDevice.fromConfig(mem, ring.config({ bigEndian: true }));
    expect(dev.availableCount()).toBe(1);
    const c = chainOf(dev.pop());
    expect(c.head).toBe(2);
    expect([...c.readAll()]).toEqual([1, 2, 3]);
    expect(c.writableBytes).toBe(16);
    dev.pushUsed(2, 9);
    dev.flushUsed();
    expect([...mem.read(ring.usedAddr + 2, 2)]).toEqual([...be(1, 2)]);
    expect([...mem.read(ring.usedAddr + 4, 8)]).toEqual([...be(2, 4), ...be(9, 4)]);
  });

  it('reads the same bytes little-endian without the flag: the index 1 stored big-endian is 256, too far ahead', () => {
    const mem = testMemory([[0, 0x1_0000]]);
    const ring = new HandSplitRing(mem, 8, 0x1000);
    mem.write(ring.availAddr + 2, be(1, 2));
    const dev = SplitQueueDevice.fromConfig(mem, ring.config());
    expect(errOf(dev.pop()).rule).toBe('VU-DP-003');
  });
});

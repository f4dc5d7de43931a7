import { describe, expect, it } from 'vitest';
import { ArrayGuestMemory } from './array-guest-memory.js';
import { GuestAllocator } from './allocator.js';
import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';

describe('GuestAllocator', () => {
  it('hands out aligned, non-overlapping ranges inside the regions', () => {
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0x1003, size: 0x1000 }]);
    const a = new GuestAllocator(mem);
    const x = a.alloc(10, 16);
    const y = a.alloc(3, 2);
    const z = a.alloc(8, 4);
    expect(x % 16).toBe(0);
    expect(x).toBeGreaterThanOrEqual(0x1003);
    expect(y % 2).toBe(0);
    expect(y).toBeGreaterThanOrEqual(x + 10);
    expect(z % 4).toBe(0);
    expect(z).toBeGreaterThanOrEqual(y + 3);
    expect(a.allocated).toBe(21);
  });

  it('never straddles two regions, even adjacent ones, and moves on to the next region', () => {
    const mem = new ArrayGuestMemory([
      { guestPhysAddr: 0x0, size: 0x100 },
      { guestPhysAddr: 0x100, size: 0x100 },
    ]);
    const a = new GuestAllocator(mem);
    expect(a.alloc(0xc0, 1)).toBe(0);
    const b = a.alloc(0x80, 1);
    expect(b).toBe(0x100);
    expect(() => mem.slice(b, 0x80)).not.toThrow();
  });

  it('throws GuestMemoryError exhausted when full, and reset starts over', () => {
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0x4000, size: 0x100 }]);
    const a = new GuestAllocator(mem);
    a.alloc(0x100, 1);
    expect(a.remaining).toBe(0);
    let err: unknown;
    try {
      a.alloc(1, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GuestMemoryError);
    expect((err as GuestMemoryError).reason).toBe(GuestMemoryErrorReason.EXHAUSTED);
    a.reset();
    expect(a.alloc(0x10, 0x10)).toBe(0x4000);
  });

  it('honours start/end limits and zeroes with allocZeroed', () => {
    const mem = new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x1000 }]);
    mem.slice(0, 0x1000).fill(0xff);
    const a = new GuestAllocator(mem, { start: 0x800, end: 0x900 });
    const p = a.allocZeroed(0x20, 8);
    expect(p).toBe(0x800);
    expect([...mem.read(p, 0x20)].every((b) => b === 0)).toBe(true);
    expect(mem.read(p + 0x20, 1)[0]).toBe(0xff);
    expect(() => a.alloc(0x100, 1)).toThrow(GuestMemoryError);
    expect(() => a.alloc(4, 3)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArrayGuestMemory } from './array-guest-memory.js';
import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import { DEFAULT_USER_ADDR_BASE } from './region-table.js';

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof GuestMemoryError) return e.reason;
    throw e;
  }
  return 'no error';
};

describe('ArrayGuestMemory layout', () => {
  it('sorts regions by GPA and defaults userAddr to a fixed offset from the GPA', () => {
    const mem = new ArrayGuestMemory([
      { guestPhysAddr: 0x20000, size: 0x1000 },
      { guestPhysAddr: 0x1000, size: 0x1000, userAddr: 0x5000_0000, mmapOffset: 0x200 },
    ]);
    expect(mem.regions.map((r) => r.guestPhysAddr)).toEqual([0x1000, 0x20000]);
    expect(mem.regions[1].userAddr).toBe(DEFAULT_USER_ADDR_BASE + 0x20000);
    expect(mem.regions[0].userAddr).toBe(0x5000_0000);
    expect(mem.regions[0].mmapOffset).toBe(0x200);
    expect(mem.regions[1].userAddr).not.toBe(mem.regions[1].guestPhysAddr);
  });

  it('rejects size 0, GPA overlap, user overlap and addresses past 2^53 with a reason', () => {
    expect(reasonOf(() => new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0 }]))).toBe(GuestMemoryErrorReason.ZERO_SIZE);
    expect(
      reasonOf(() => new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x2000 }, { guestPhysAddr: 0x1fff, size: 0x10 }])),
    ).toBe(GuestMemoryErrorReason.OVERLAP_GPA);
    expect(
      reasonOf(
        () =>
          new ArrayGuestMemory([
            { guestPhysAddr: 0, size: 0x1000, userAddr: 0x10_0000 },
            { guestPhysAddr: 0x8000, size: 0x1000, userAddr: 0x10_0800 },
          ]),
      ),
    ).toBe(GuestMemoryErrorReason.OVERLAP_USER);
    expect(reasonOf(() => new ArrayGuestMemory([{ guestPhysAddr: Number.MAX_SAFE_INTEGER - 4, size: 16, userAddr: 0 }]))).toBe(
      GuestMemoryErrorReason.OVERFLOW,
    );
    expect(reasonOf(() => new ArrayGuestMemory([{ guestPhysAddr: -1, size: 16 }]))).toBe(GuestMemoryErrorReason.BAD_ADDRESS);
    // Adjacent regions are fine.
    expect(() => new ArrayGuestMemory([{ guestPhysAddr: 0, size: 0x1000 }, { guestPhysAddr: 0x1000, size: 0x1000 }])).not.toThrow();
  });
});

describe('ArrayGuestMemory access', () => {
  const mem = new ArrayGuestMemory([
    { guestPhysAddr: 0x1000, size: 0x1000 },
    { guestPhysAddr: 0x2000, size: 0x1000 }, // adjacent to the first
    { guestPhysAddr: 0x10000, size: 0x100 },
  ]);

  it('stores integers little-endian', () => {
    mem.writeU32(0x1010, 0x11223344);
    expect([...mem.read(0x1010, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    mem.writeU16(0x2002, 0xbeef);
    expect(mem.readU16(0x2002)).toBe(0xbeef);
    expect(mem.slice(0x2002, 2)[0]).toBe(0xef);
    mem.writeU64(0x10008, 0x0102030405060708n);
    expect(mem.readU64(0x10008)).toBe(0x0102030405060708n);
    expect(mem.slice(0x10008, 1)[0]).toBe(0x08);
  });

  it('slice is a view and read is a copy', () => {
    const view = mem.slice(0x1100, 4);
    const copy = mem.read(0x1100, 4);
    view[0] = 0x7e;
    expect(mem.readU16(0x1100) & 0xff).toBe(0x7e);
    expect(copy[0]).not.toBe(0x7e);
  });

  it('reports cross-region, out-of-bounds, unmapped and bad addresses distinctly', () => {
    expect(reasonOf(() => mem.slice(0x1ffe, 4))).toBe(GuestMemoryErrorReason.CROSS_REGION);
    expect(reasonOf(() => mem.readU32(0x100fe))).toBe(GuestMemoryErrorReason.OUT_OF_BOUNDS);
    expect(reasonOf(() => mem.readU16(0x5000))).toBe(GuestMemoryErrorReason.UNMAPPED);
    expect(reasonOf(() => mem.readU16(0xfff))).toBe(GuestMemoryErrorReason.UNMAPPED);
    expect(reasonOf(() => mem.slice(4096.5, 1))).toBe(GuestMemoryErrorReason.BAD_ADDRESS);
    expect(reasonOf(() => mem.slice(0x1000, -1))).toBe(GuestMemoryErrorReason.BAD_ADDRESS);
    expect(reasonOf(() => mem.checkedSlice(1n << 53n, 1))).toBe(GuestMemoryErrorReason.BAD_ADDRESS);
    expect(reasonOf(() => mem.checkedSlice((1n << 64n) - 16n, 16))).toBe(GuestMemoryErrorReason.BAD_ADDRESS);
    expect(mem.checkedSlice(0x1004n, 4).length).toBe(4);
  });

  it('keeps answering correctly after the cached region changes', () => {
    mem.writeU16(0x1000, 1);
    mem.writeU16(0x10000, 2);
    mem.writeU16(0x2000, 3);
    expect([mem.readU16(0x1000), mem.readU16(0x10000), mem.readU16(0x2000), mem.readU16(0x1000)]).toEqual([1, 2, 3, 1]);
    // A hit in the cached region must not accept a range that leaves it.
    expect(reasonOf(() => mem.slice(0x10000, 0x101))).toBe(GuestMemoryErrorReason.OUT_OF_BOUNDS);
  });

  it('translates QVA and GPA both ways and rejects unmapped user addresses', () => {
    expect(mem.gpaToUser(0x2345)).toBe(DEFAULT_USER_ADDR_BASE + 0x2345);
    expect(mem.userToGpa(DEFAULT_USER_ADDR_BASE + 0x10010)).toBe(0x10010);
    expect(reasonOf(() => mem.userToGpa(0x2345))).toBe(GuestMemoryErrorReason.UNMAPPED);
    expect(reasonOf(() => mem.gpaToUser(0x3000))).toBe(GuestMemoryErrorReason.UNMAPPED);
  });
});

/** Up to four non-overlapping regions, some adjacent, with arbitrary user addresses. */
const layoutArb = fc
  .array(fc.record({ gap: fc.integer({ min: 0, max: 0x3000 }), size: fc.integer({ min: 1, max: 0x2000 }), user: fc.integer({ min: 0, max: 2 ** 40 }) }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => {
    let at = 0;
    return parts.map((p, i) => {
      const gpa = at + p.gap;
      at = gpa + p.size;
      // Disjoint user ranges: each region gets its own 2^41 window.
      return { guestPhysAddr: gpa, size: p.size, userAddr: i * 2 ** 41 + p.user };
    });
  });

const inBounds = (specs: { guestPhysAddr: number; size: number }[], gpa: number, len: number): boolean =>
  specs.some((r) => gpa >= r.guestPhysAddr && gpa + len <= r.guestPhysAddr + r.size && gpa <= r.guestPhysAddr + r.size);

describe('ArrayGuestMemory properties', () => {
  it('every in-bounds slice works and every other access throws GuestMemoryError, never another error', () => {
    const addrArb = fc.oneof(
      fc.integer({ min: 0, max: 0x14000 }),
      fc.constantFrom(-1, NaN, Infinity, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER, -0x1000),
    );
    const lenArb = fc.oneof(fc.integer({ min: 0, max: 0x2100 }), fc.constantFrom(-1, NaN, 1.5, 2 ** 60));
    fc.assert(
      fc.property(layoutArb, fc.array(fc.tuple(addrArb, lenArb), { minLength: 1, maxLength: 20 }), (specs, accesses) => {
        const mem = new ArrayGuestMemory(specs);
        for (const [gpa, len] of accesses) {
          const ok = Number.isSafeInteger(gpa) && gpa >= 0 && Number.isSafeInteger(len) && len >= 0 && inBounds(specs, gpa, len);
          let got: Uint8Array | undefined;
          let err: unknown;
          try {
            got = mem.slice(gpa, len);
          } catch (e) {
            err = e;
          }
          if (ok) {
            expect(err).toBeUndefined();
            expect(got?.length).toBe(len);
            if (len > 0) {
              got![0] = 0xab;
              expect(mem.read(gpa, 1)[0]).toBe(0xab);
            }
          } else {
            expect(err).toBeInstanceOf(GuestMemoryError);
          }
          for (const fn of [() => mem.readU32(gpa), () => mem.writeU64(gpa, 1n), () => mem.read(gpa, len)]) {
            try {
              fn();
            } catch (e) {
              expect(e).toBeInstanceOf(GuestMemoryError);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('checkedSlice accepts any bigint and throws only GuestMemoryError', () => {
    fc.assert(
      fc.property(layoutArb, fc.bigInt({ min: -(1n << 64n), max: 1n << 65n }), fc.integer({ min: 0, max: 0x100 }), (specs, gpa, len) => {
        const mem = new ArrayGuestMemory(specs);
        try {
          expect(mem.checkedSlice(gpa, len).length).toBe(len);
          expect(inBounds(specs, Number(gpa), len)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(GuestMemoryError);
        }
      }),
    );
  });

  it('GPA → QVA → GPA is the identity for every mapped byte and shares the byte', () => {
    fc.assert(
      fc.property(layoutArb, fc.nat(), (specs, pick) => {
        const mem = new ArrayGuestMemory(specs);
        const r = specs[pick % specs.length];
        const gpa = r.guestPhysAddr + (pick % r.size);
        const uva = mem.gpaToUser(gpa);
        expect(uva).toBe(r.userAddr + (gpa - r.guestPhysAddr));
        expect(mem.userToGpa(uva)).toBe(gpa);
      }),
    );
  });
});

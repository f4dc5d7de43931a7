import { describe, expect, it } from 'vitest';
import { fstatSync } from 'node:fs';
import { memfdCreate, mmapShared } from '../../native/index.js';
import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import { MappedGuestMemory } from './mapped-guest-memory.js';
import type { ReceivedRegion } from './mapped-guest-memory.js';

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

/** A received region over a fresh memfd of `fileSize` bytes. */
const region = (fields: Partial<Omit<ReceivedRegion, 'fd'>> & { fileSize?: number } = {}): ReceivedRegion => {
  const size = fields.size ?? 0x2000n;
  const mmapOffset = fields.mmapOffset ?? 0x1000n;
  const fileSize = fields.fileSize ?? Number(mmapOffset + size);
  return {
    guestPhysAddr: fields.guestPhysAddr ?? 0x10000n,
    size,
    userAddr: fields.userAddr ?? 0x7f00_0001_0000n,
    mmapOffset,
    fd: memfdCreate('mapped-test', fileSize),
  };
};

const rejection = (regions: ReceivedRegion[]): { reason: string; fdsClosed: boolean } => {
  try {
    MappedGuestMemory.map(regions).close();
  } catch (e) {
    if (!(e instanceof GuestMemoryError)) throw e;
    return { reason: e.reason, fdsClosed: regions.every((r) => !isOpen(r.fd)) };
  }
  return { reason: 'accepted', fdsClosed: regions.every((r) => !isOpen(r.fd)) };
};

describe('MappedGuestMemory validation (untrusted regions)', () => {
  const U64_MAX = (1n << 64n) - 1n;
  const cases: [string, () => ReceivedRegion[], string][] = [
    ['size 0', () => [region({ size: 0n, fileSize: 0x1000 })], GuestMemoryErrorReason.ZERO_SIZE],
    ['gpa + size overflows 2^64', () => [region({ guestPhysAddr: U64_MAX - 0xfffn })], GuestMemoryErrorReason.OVERFLOW],
    ['userAddr + size overflows 2^64', () => [region({ userAddr: U64_MAX })], GuestMemoryErrorReason.OVERFLOW],
    ['mmapOffset + size overflows 2^64', () => [{ ...region(), mmapOffset: U64_MAX - 0x10n }], GuestMemoryErrorReason.OVERFLOW],
    ['gpa beyond 2^53', () => [region({ guestPhysAddr: 1n << 60n })], GuestMemoryErrorReason.BAD_ADDRESS],
    ['size beyond the file', () => [region({ size: 0x3000n, fileSize: 0x2000 })], GuestMemoryErrorReason.BEYOND_FILE],
    [
      'overlapping GPA ranges',
      () => [region(), region({ guestPhysAddr: 0x11000n, userAddr: 0x7f00_1000_0000n })],
      GuestMemoryErrorReason.OVERLAP_GPA,
    ],
    ['overlapping user ranges', () => [region(), region({ guestPhysAddr: 0x80000n, userAddr: 0x7f00_0001_1fffn })], GuestMemoryErrorReason.OVERLAP_USER],
    ['a bad fd', () => [{ ...region(), fd: -1 }], GuestMemoryErrorReason.MAP_FAILED],
  ];
  for (const [name, make, reason] of cases) {
    it(`rejects ${name} with reason ${reason} and closes every fd`, () => {
      const r = rejection(make());
      expect(r.reason).toBe(reason);
      expect(r.fdsClosed).toBe(true);
    });
  }

  it('accepts adjacent regions and a valid table', () => {
    const mem = MappedGuestMemory.map([region(), region({ guestPhysAddr: 0x12000n, userAddr: 0x7f00_0001_2000n })]);
    expect(mem.regions.length).toBe(2);
    mem.close();
  });
});

describe('MappedGuestMemory mapping', () => {
  it('maps GPA X to file offset mmapOffset + (X − gpa) and translates QVA (VU-MEM-003/004)', () => {
    const fd = memfdCreate('front', 0x5000);
    const front = mmapShared(fd, 0x5000, 0);
    const mem = MappedGuestMemory.map([{ guestPhysAddr: 0x8000_0000n, size: 0x4000n, userAddr: 0x7f12_0000_0000n, mmapOffset: 0x1000n, fd }]);
    try {
      new DataView(front.buffer).setUint32(0x1000 + 0x123, 0x01020304, true);
      expect(mem.readU32(0x8000_0123)).toBe(0x01020304);
      mem.writeU16(0x8000_3ffe, 0xa55a);
      expect(new DataView(front.buffer).getUint16(0x1000 + 0x3ffe, true)).toBe(0xa55a);
      expect(mem.userToGpa(0x7f12_0000_0010)).toBe(0x8000_0010);
      expect(mem.regions[0].fd).toBe(fd);
    } finally {
      mem.close();
      front.unmap();
    }
    expect(isOpen(fd)).toBe(false); // OWNERSHIP: close() closed the fd it took
  });

  it('addRegion checks against existing regions; removeRegion ignores mmapOffset and closes the fd', () => {
    const mem = MappedGuestMemory.map([]);
    const a = region();
    mem.addRegion(a);
    const clash = region({ guestPhysAddr: 0x10800n, userAddr: 0x1000n });
    expect(() => mem.addRegion(clash)).toThrow(GuestMemoryError);
    expect(isOpen(clash.fd)).toBe(false);
    expect(isOpen(a.fd)).toBe(true); // a rejected addition leaves existing regions alone
    const b = region({ guestPhysAddr: 0x40000n, userAddr: 0x9000_0000n });
    mem.addRegion(b);
    expect(mem.readU16(0x40000)).toBe(0);
    let err: unknown;
    try {
      mem.removeRegion({ guestPhysAddr: 0x40000n, userAddr: 0x9000_0000n, size: 0x1000n });
    } catch (e) {
      err = e;
    }
    expect((err as GuestMemoryError).reason).toBe(GuestMemoryErrorReason.NO_SUCH_REGION);
    mem.removeRegion({ guestPhysAddr: 0x40000n, userAddr: 0x9000_0000n, size: 0x2000n });
    expect(isOpen(b.fd)).toBe(false);
    expect(() => mem.readU16(0x40000)).toThrow(GuestMemoryError);
    expect(mem.readU16(0x10000)).toBe(0);
    mem.close();
    mem.close();
    expect(isOpen(a.fd)).toBe(false);
    expect(() => mem.addRegion(region({ guestPhysAddr: 0x90000n, userAddr: 0xa000_0000n }))).toThrow(GuestMemoryError);
  });
});

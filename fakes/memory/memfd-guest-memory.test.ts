import { describe, expect, it } from 'vitest';
import { fstatSync } from 'node:fs';
import { mmapShared } from '../../native/index.js';
import { DEFAULT_MEMFD_MMAP_OFFSET, MemfdGuestMemory } from './memfd-guest-memory.js';
import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import { DEFAULT_USER_ADDR_BASE } from './region-table.js';

describe('MemfdGuestMemory', () => {
  it('backs each region with a memfd of mmapOffset + size bytes, QVA ≠ GPA by default', () => {
    const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0x1_0000_0000, size: 0x10000 }, { guestPhysAddr: 0, size: 0x2000, mmapOffset: 0x3000 }]);
    try {
      const [low, high] = mem.regions;
      expect(low.guestPhysAddr).toBe(0);
      expect(low.mmapOffset).toBe(0x3000);
      expect(high.mmapOffset).toBe(DEFAULT_MEMFD_MMAP_OFFSET);
      expect(DEFAULT_MEMFD_MMAP_OFFSET).not.toBe(0);
      expect(high.userAddr).toBe(DEFAULT_USER_ADDR_BASE + 0x1_0000_0000);
      expect(typeof low.fd).toBe('number');
      expect(low.fd).not.toBe(high.fd);
      expect(fstatSync(low.fd!).size).toBe(0x3000 + 0x2000);
      expect(fstatSync(high.fd!).size).toBe(DEFAULT_MEMFD_MMAP_OFFSET + 0x10000);
    } finally {
      mem.close();
    }
  });

  it('a second mapping of the memfd sees the region bytes at mmapOffset, both ways', () => {
    const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0x40000, size: 0x4000, mmapOffset: 0x2000 }], { name: 'test-two-maps' });
    const r = mem.regions[0];
    const other = mmapShared(r.fd!, 0x2000 + 0x4000, 0);
    try {
      const view = new Uint8Array(other.buffer);
      mem.writeU32(0x40000 + 0x10, 0xcafef00d);
      expect(new DataView(other.buffer).getUint32(0x2000 + 0x10, true)).toBe(0xcafef00d);
      // The bytes before mmapOffset are not part of the region.
      expect(view.subarray(0, 0x2000).every((b) => b === 0)).toBe(true);
      view[0x2000 + 0x3fff] = 0x42;
      expect(mem.read(0x40000 + 0x3fff, 1)[0]).toBe(0x42);
    } finally {
      other.unmap();
      mem.close();
    }
  });

  it('close is idempotent, closes the fds, and makes every access a GuestMemoryError', () => {
    const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0, size: 0x1000 }]);
    const fd = mem.regions[0].fd!;
    mem.close();
    mem.close();
    expect(mem.closed).toBe(true);
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
    let err: unknown;
    try {
      mem.readU16(0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GuestMemoryError);
    expect((err as GuestMemoryError).reason).toBe(GuestMemoryErrorReason.UNMAPPED);
  });

  it('rejects a bad layout before creating anything', () => {
    expect(() => MemfdGuestMemory.create([{ guestPhysAddr: 0, size: 0 }])).toThrow(GuestMemoryError);
  });
});

/**
 * Test-only memory helpers for the virtqueue device/driver tests: guest memory built from
 * `[gpa, size]` pairs over the shared {@link ArrayGuestMemory}, and an `alloc(size, align) → gpa`
 * function over the shared {@link GuestAllocator}, the shape the packed driver takes.
 * @module
 */
import { GuestAllocator } from '../../memory/allocator.js';
import { ArrayGuestMemory } from '../../memory/array-guest-memory.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

/** Zero-filled guest memory with one region per `[gpa, size]` pair. */
export const testMemory = (layout: ReadonlyArray<readonly [gpa: number, size: number]>): GuestMemory =>
  new ArrayGuestMemory(layout.map(([guestPhysAddr, size]) => ({ guestPhysAddr, size })));

/** An allocator over `[start, end)` of `mem`. */
export const allocIn = (mem: GuestMemory, start: number, end: number): ((size: number, align: number) => number) => {
  const a = new GuestAllocator(mem, { start, end });
  return (size, align) => a.alloc(size, align);
};

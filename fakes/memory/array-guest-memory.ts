/**
 * {@link GuestMemory} over plain ArrayBuffers: for unit tests and fuzzing, where no peer process
 * needs to see the bytes (STYLE §14, vm-virtio `GuestMemoryMmap::from_ranges`).
 * @module
 */

import type { GuestRegion, GuestRegionSpec } from './guest-memory.js';
import { DEFAULT_USER_ADDR_BASE, RegionTableMemory, checkRegionLayout } from './region-table.js';

/**
 * Guest memory backed by one ArrayBuffer per region. `mmapOffset` is recorded (so the same
 * region table can be sent on the wire) but there is no file: each region's bytes start at
 * offset 0 of its own buffer, so a GPA aligned to 16 is also aligned for typed-array views.
 */
export class ArrayGuestMemory extends RegionTableMemory {
  /**
   * Creates zero-filled regions. Throws {@link GuestMemoryError} on a bad layout (size 0,
   * overlap in GPA or user space, addresses past 2^53).
   * @param specs - the regions; `userAddr` defaults to `0x7f00_0000_0000 + guestPhysAddr`,
   *   `mmapOffset` to 0.
   */
  constructor(specs: readonly GuestRegionSpec[]) {
    super();
    const resolved = specs.map((s) => ({
      guestPhysAddr: s.guestPhysAddr,
      size: s.size,
      userAddr: s.userAddr ?? DEFAULT_USER_ADDR_BASE + s.guestPhysAddr,
      mmapOffset: s.mmapOffset ?? 0,
    }));
    checkRegionLayout(resolved);
    this.setRegions(resolved.map((r): GuestRegion => ({ ...r, bytes: new Uint8Array(r.size) })));
  }
}

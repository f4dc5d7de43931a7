/**
 * The front-end's guest RAM for runs against real peers: one memfd per region, mapped
 * MAP_SHARED, whose fds go to the back-end in SET_MEM_TABLE / ADD_MEM_REG (vhost-user.rst
 * "Memory access"; CHECKLIST §0.4 "Shared memory", VU-MEM-003/004).
 *
 * Defaults are chosen to expose address-translation bugs in the back-end: the user address is
 * `0x7f00_0000_0000 + guestPhysAddr` (never equal to the GPA) and the region starts at
 * {@link DEFAULT_MEMFD_MMAP_OFFSET} inside its file (never at 0), so a back-end that confuses
 * QVA with GPA, or forgets `mmap_offset`, reads the wrong bytes.
 * @module
 */

import { closeFd, memfdCreate, mmapShared } from '../../native/index.js';
import type { Mapping } from '../../native/index.js';
import { GuestMemoryError, GuestMemoryErrorReason } from './guest-memory.js';
import type { GuestRegion, GuestRegionSpec } from './guest-memory.js';
import { DEFAULT_USER_ADDR_BASE, RegionTableMemory, checkRegionLayout } from './region-table.js';

/** Default offset of a region inside its memfd: one page, so `mmap_offset` is never 0. */
export const DEFAULT_MEMFD_MMAP_OFFSET = 0x1000;

/** Options of {@link MemfdGuestMemory.create}. */
export interface MemfdGuestMemoryOptions {
  /** memfd name prefix (shows in /proc/PID/fd); default `vhostlab-guest`. */
  readonly name?: string;
}

interface Backing {
  readonly fd: number;
  readonly mapping: Mapping;
}

/**
 * Guest memory backed by memfds this process creates. Each region's `fd` is the memfd to pass
 * to the back-end; the file holds `mmapOffset` unused bytes followed by the region.
 *
 * OWNERSHIP: this object owns the memfds and mappings; {@link close} unmaps and closes them.
 * Sending an fd over SCM_RIGHTS duplicates it, so the peer's copy is independent.
 */
export class MemfdGuestMemory extends RegionTableMemory {
  #backing: Backing[];
  #closed = false;

  private constructor(regions: GuestRegion[], backing: Backing[]) {
    super();
    this.#backing = backing;
    this.setRegions(regions);
  }

  /**
   * Creates and maps one memfd per region. Throws {@link GuestMemoryError} on a bad layout, and
   * with reason `map-failed` (the NativeError as `cause`) when memfd_create or mmap fails; on
   * failure everything created so far is released.
   */
  static create(specs: readonly GuestRegionSpec[], options: MemfdGuestMemoryOptions = {}): MemfdGuestMemory {
    const name = options.name ?? 'vhostlab-guest';
    const resolved = specs.map((s) => ({
      guestPhysAddr: s.guestPhysAddr,
      size: s.size,
      userAddr: s.userAddr ?? DEFAULT_USER_ADDR_BASE + s.guestPhysAddr,
      mmapOffset: s.mmapOffset ?? DEFAULT_MEMFD_MMAP_OFFSET,
    }));
    checkRegionLayout(resolved);
    const backing: Backing[] = [];
    const regions: GuestRegion[] = [];
    try {
      for (const [i, r] of resolved.entries()) {
        const fileSize = r.mmapOffset + r.size;
        const fd = memfdCreate(`${name}-${i}`, fileSize);
        let mapping: Mapping;
        try {
          // The whole file from offset 0, as libvhost-user does: mmap offsets must be
          // page-aligned, region offsets need not be.
          mapping = mmapShared(fd, fileSize, 0);
        } catch (e) {
          closeFd(fd);
          throw e;
        }
        backing.push({ fd, mapping });
        // SAFETY: a view over MAP_SHARED memory the back-end reads and writes concurrently.
        // After close() the native layer swaps the pages for private zero pages, so a stale
        // view reads zeros instead of faulting; close() also empties the region table.
        regions.push({ ...r, fd, bytes: new Uint8Array(mapping.buffer, r.mmapOffset, r.size) });
      }
    } catch (e) {
      for (const b of backing) {
        b.mapping.unmap();
        closeFd(b.fd);
      }
      if (e instanceof GuestMemoryError) throw e;
      throw new GuestMemoryError(
        `cannot create memfd guest memory: ${e instanceof Error ? e.message : String(e)}`,
        BigInt(resolved[backing.length]?.guestPhysAddr ?? 0),
        resolved[backing.length]?.size ?? 0,
        GuestMemoryErrorReason.MAP_FAILED,
        { cause: e },
      );
    }
    return new MemfdGuestMemory(regions, backing);
  }

  /**
   * The address in this process of guest byte `gpa` (the memfd mapping, not the synthetic QVA of
   * `userAddr`): for native code that writes guest memory directly, such as the racing writer of
   * the double-fetch checks. Throws {@link GuestMemoryError} when no region holds `gpa`.
   */
  hostAddress(gpa: number): bigint {
    const i = this.regions.findIndex((r) => gpa >= r.guestPhysAddr && gpa < r.guestPhysAddr + r.size);
    if (i < 0 || this.#closed) this.slice(gpa, 1); // throws the usual unmapped/outside error
    const r = this.regions[i]!;
    // By fd: the region table may keep its own order.
    const b = this.#backing.find((x) => x.fd === r.fd)!;
    return b.mapping.address + BigInt(r.mmapOffset + (gpa - r.guestPhysAddr));
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Unmaps every region and closes every memfd. Idempotent. Afterwards every accessor throws
   * {@link GuestMemoryError} (`unmapped`). Views obtained earlier (`slice`, `bytes`, a queue
   * driver's typed arrays) no longer reach the memfd: they read zeros and writes are lost.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.setRegions([]);
    const backing = this.#backing;
    this.#backing = [];
    for (const b of backing) {
      b.mapping.unmap();
      closeFd(b.fd);
    }
  }
}

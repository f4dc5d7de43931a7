/**
 * Malformed descriptor chains written by hand into a {@link RingRig}'s split rings, and the
 * aftermath checks the descriptor-bounds cases share (CHECKLIST VU-DP-003…017, CVE-2018-1059,
 * CVE-2022-2132). The split driver only builds valid chains, so these helpers write the
 * descriptor table and the avail ring directly; the ring they post on is not driven through the
 * rig's driver afterwards (its private indices no longer match the ring).
 *
 * What a correct back-end may do with a bad chain is left open by the spec (drop it, return it
 * with `len` 0, stop the ring, mark the device NEEDS_RESET, close the connection), so the
 * aftermath checks only what none of those allow: the process dies or stops answering, guest
 * memory outside the buffers the device may write changes (canaries fill every free byte and the
 * file bytes in front of each region, which back-ends map too), or a chain comes back with a
 * `used.len` above the bytes it could legitimately have written.
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { DescFlag, SPLIT_AVAIL, SPLIT_DESC, SPLIT_USED, splitAvailSize, splitUsedSize } from '../../fakes/wire/index.js';
import type { FrontendSession } from '../../fakes/frontend/index.js';
import type { GuestAllocator, MemfdGuestMemory } from '../../fakes/memory/index.js';
import type { RingRig } from './ring-rig.js';
import { stillServes } from './ring-outcome.js';
import { mismatch, type CheckResult } from './ring-verdict.js';

/** The byte free guest memory is filled with: a write of zeros or of frame bytes shows. */
export const CANARY = 0xa5;

/** One descriptor exactly as written (addresses are u64, wrapped; nothing is checked). */
export interface RawDesc {
  addr: bigint | number;
  len: number;
  flags?: number;
  next?: number;
}

/** A piece of a raw chain: `writable` sets WRITE; NEXT is added by {@link writeChain}. */
export interface RawSeg {
  addr: bigint | number;
  len: number;
  writable?: boolean;
}

/** A guest-physical byte range `[start, start + len)`. */
export interface GpaRange {
  start: number;
  len: number;
}

/** Writes descriptor `index` of ring `ring`'s table verbatim. */
export function writeDesc(rig: RingRig, ring: number, index: number, d: RawDesc): void {
  const { descAddr, size } = rig.q(ring).driver.layout;
  if (!(index >= 0 && index < size)) throw new RangeError(`descriptor ${index} is outside the ${size}-entry table`);
  writeDescAt(rig, descAddr + index * SPLIT_DESC.SIZE, d);
}

/** Writes one descriptor at `gpa` (a table entry of the ring or of an indirect table). */
export function writeDescAt(rig: RingRig, gpa: number, d: RawDesc): void {
  const m = rig.memory;
  m.writeU64(gpa + SPLIT_DESC.ADDR, BigInt.asUintN(64, BigInt(d.addr)));
  m.writeU32(gpa + SPLIT_DESC.LEN, d.len >>> 0);
  m.writeU16(gpa + SPLIT_DESC.FLAGS, d.flags ?? 0);
  m.writeU16(gpa + SPLIT_DESC.NEXT, d.next ?? 0);
}

/** Writes `segs` at descriptors `first`, `first + 1` … linked with NEXT; returns `first` (the head). */
export function writeChain(rig: RingRig, ring: number, first: number, segs: readonly RawSeg[]): number {
  segs.forEach((s, i) => {
    const more = i + 1 < segs.length;
    writeDesc(rig, ring, first + i, {
      addr: s.addr, len: s.len, flags: (more ? DescFlag.NEXT : 0) | (s.writable ? DescFlag.WRITE : 0), next: more ? first + i + 1 : 0,
    });
  });
  return first;
}

/**
 * Stores `heads` in the avail ring after the current `avail->idx`, then moves `avail->idx` by
 * their number (or stores `idx` instead, for index jumps) and kicks. Returns the new index.
 */
export function postRaw(rig: RingRig, ring: number, heads: readonly number[], idx?: number): number {
  const q = rig.q(ring);
  const { availAddr, size } = q.driver.layout;
  const m = rig.memory;
  const from = m.readU16(availAddr + SPLIT_AVAIL.IDX);
  heads.forEach((h, i) => m.writeU16(availAddr + SPLIT_AVAIL.RING + SPLIT_AVAIL.ENTRY * ((from + i) & (size - 1)), h & 0xffff));
  const to = (idx ?? from + heads.length) & 0xffff;
  // The slots are plain stores before this one: x86-64 keeps store order (see SplitQueueDriver.publish).
  const hdr = m.slice(availAddr, 4);
  Atomics.store(new Uint16Array(hdr.buffer, hdr.byteOffset, 2), 1, to);
  eventfdWrite(q.kickFd);
  return to;
}

/** Bytes `data` at a fresh allocation (16-aligned); returns its GPA. */
export function place(rig: RingRig, data: Uint8Array): number {
  const at = rig.alloc.alloc(Math.max(1, data.length), 16);
  rig.memory.write(at, data);
  return at;
}

/** The file bytes in front of region `i` (its mmap_offset), which a back-end maps with it. */
function prefixOf(memory: MemfdGuestMemory, i: number): Uint8Array {
  const r = memory.regions[i];
  return new Uint8Array(r.bytes.buffer, r.bytes.byteOffset - r.mmapOffset, r.mmapOffset);
}

/**
 * Byte ranges the device may write besides a case's own writable buffers: the rings' device
 * areas and the in-flight buffers of `writableRings` (net RX). Split rigs and packed rigs answer
 * this differently, so the watch asks.
 */
export type DeviceAreas = (writableRings: readonly number[]) => GpaRange[];

/** What a split {@link RingRig} lets the device write: used rings, and (ours) avail rings. */
function splitDeviceAreas(rig: RingRig): DeviceAreas {
  return (writableRings) => {
    const ok: GpaRange[] = [];
    for (const q of rig.queues.values()) {
      const { availAddr, usedAddr, size } = q.driver.layout;
      ok.push({ start: usedAddr, len: splitUsedSize(size) });
      // The avail rings are ours: postRaw writes them after the snapshot (VU-DP-006 cases watch them).
      ok.push({ start: availAddr, len: splitAvailSize(size) });
    }
    for (const ring of writableRings) {
      for (const b of rig.q(ring).headToBuf.values()) ok.push({ start: rig.bufAddr(ring, b), len: rig.bufferSize });
    }
    return ok;
  };
}

/**
 * Canaries over guest memory and a snapshot to compare with. {@link arm} fills every byte the
 * rig's allocator has not handed out yet, and every region's file prefix, with {@link CANARY};
 * the case then places its chains (later allocations overwrite canaries with real data) and
 * calls {@link snapshot} right before posting.
 */
export class MemoryWatch {
  #regions: Uint8Array[] = [];
  #prefixes: Uint8Array[] = [];

  private constructor(private readonly memory: MemfdGuestMemory, private readonly deviceAreas: DeviceAreas) {}

  /** Fills free memory and the file prefixes of a split rig with canaries. */
  static arm(rig: RingRig): MemoryWatch {
    return MemoryWatch.armOn(rig.memory, rig.alloc, splitDeviceAreas(rig));
  }

  /** The same on any memory: `alloc` says what is free, `deviceAreas` what the device may write. */
  static armOn(memory: MemfdGuestMemory, alloc: GuestAllocator, deviceAreas: DeviceAreas): MemoryWatch {
    // The allocator's position: one byte taken, the rest of its region and later regions are free.
    const free = alloc.alloc(1, 1);
    memory.regions.forEach((r, i) => {
      prefixOf(memory, i).fill(CANARY);
      const end = r.guestPhysAddr + r.size;
      if (free >= end) return;
      const from = Math.max(free, r.guestPhysAddr);
      r.bytes.fill(CANARY, from - r.guestPhysAddr);
    });
    return new MemoryWatch(memory, deviceAreas);
  }

  /** Takes the reference copy (after the chains were written). */
  snapshot(): void {
    this.#regions = this.memory.regions.map((r) => r.bytes.slice());
    this.#prefixes = this.memory.regions.map((_, i) => prefixOf(this.memory, i).slice());
  }

  /**
   * The first byte that changed outside `allowed` (plus the device areas: every ring's used and
   * avail ring and the in-flight buffers of `writableRings`), as a mismatch.
   */
  check(allowed: readonly GpaRange[], writableRings: readonly number[]): CheckResult {
    const ok: GpaRange[] = [...allowed, ...this.deviceAreas(writableRings)];
    const inAllowed = (gpa: number): boolean => ok.some((a) => gpa >= a.start && gpa < a.start + a.len);
    const regions = this.memory.regions;
    for (let i = 0; i < regions.length; i++) {
      const before = this.#prefixes[i];
      const now = prefixOf(this.memory, i);
      const at = now.findIndex((v, k) => v !== before[k]);
      if (at >= 0) {
        return mismatch('no write to the file bytes in front of a region (its mmap_offset part, mapped by the back-end but not guest memory)',
          `byte ${at} of region ${i}'s ${now.length}-byte prefix changed from 0x${before[at].toString(16)} to 0x${now[at].toString(16)}`);
      }
      const r = regions[i];
      const snap = this.#regions[i];
      const cur = r.bytes;
      let changed = 0;
      let first = -1;
      for (let k = 0; k < cur.length; k++) {
        if (cur[k] !== snap[k] && !inAllowed(r.guestPhysAddr + k)) {
          if (first < 0) first = k;
          changed++;
        }
      }
      if (first >= 0) {
        const gpa = r.guestPhysAddr + first;
        return mismatch('no guest memory written outside the used rings and the device-writable bytes of valid buffers (canaries intact)',
          `${changed} byte(s) changed, the first at GPA 0x${gpa.toString(16)} (0x${snap[first].toString(16)} → 0x${cur[first].toString(16)})`);
      }
    }
    return undefined;
  }
}

/** The used elements of ring `ring` from index `from` up to the current `used->idx`. */
export function usedSince(rig: RingRig, ring: number, from: number): { id: number; len: number }[] {
  const { usedAddr, size } = rig.q(ring).driver.layout;
  const m = rig.memory;
  const to = m.readU16(usedAddr + SPLIT_USED.IDX);
  const n = (to - from) & 0xffff;
  const out: { id: number; len: number }[] = [];
  // More than a ring's worth would re-read slots: report what one lap holds.
  for (let i = 0; i < Math.min(n, size); i++) {
    const e = usedAddr + SPLIT_USED.RING + SPLIT_USED.ENTRY * ((from + i) & (size - 1));
    out.push({ id: m.readU32(e + SPLIT_USED.ENTRY_ID), len: m.readU32(e + SPLIT_USED.ENTRY_LEN) });
  }
  if (n > size) out.push({ id: -1, len: n });
  return out;
}

/** What one ring may return after a bad chain: head → most bytes the device can have written. */
export interface UsedRule {
  ring: number;
  /** `used->idx` before the bad chain was posted. */
  from: number;
  /** Heads the ring may return, with the writable bytes of their valid buffers. */
  limits: ReadonlyMap<number, number>;
  /** Heads outside `limits` are a failure (false under IN_ORDER, where skipped slots hold old data). */
  strictIds?: boolean;
}

/** Every used element returned since `from` names an available head and claims no more than it could write. */
export function usedCheck(rig: RingRig, rule: UsedRule): CheckResult {
  const els = usedSince(rig, rule.ring, rule.from);
  const n = (rig.usedIdx(rule.ring) - rule.from) & 0xffff;
  if (n > rig.q(rule.ring).driver.layout.size) {
    return mismatch(`ring ${rule.ring}: at most the chains made available are used`, `used->idx moved by ${n}, more than the queue size ${rig.q(rule.ring).driver.layout.size}`);
  }
  for (const e of els) {
    const limit = rule.limits.get(e.id);
    if (limit === undefined) {
      if (rule.strictIds === false) continue;
      return mismatch(`ring ${rule.ring}: used elements name only heads the driver made available (${[...rule.limits.keys()].join(', ') || 'none'})`,
        `used element {id ${e.id}, len ${e.len}}`);
    }
    if (e.len > limit) {
      return mismatch(`ring ${rule.ring}: a bad chain is not completed with used.len above its valid writable bytes (head ${e.id}: at most ${limit})`,
        `used element {id ${e.id}, len ${e.len}}`);
    }
  }
  return undefined;
}

/** What {@link aftermath} needs. */
export interface Aftermath {
  /** The peer's liveness, when the runner started it (`CaseContext.peerAlive`). */
  peerAlive(): boolean | undefined;
  openSession(): Promise<FrontendSession>;
  watch: MemoryWatch;
  /** Device-writable bytes of the bad chains' valid buffers. */
  writable: readonly GpaRange[];
  /** Rings whose in-flight rig buffers are device-writable (net RX rings). */
  writableRings: readonly number[];
  used: readonly UsedRule[];
}

/**
 * The checks after a bad chain, in order: the process is alive, guest memory outside what the
 * device may write is unchanged, used elements are honest, and the back-end still answers
 * GET_FEATURES (on this connection, or on a fresh one when it closed this one).
 */
export async function aftermath(rig: RingRig, a: Aftermath): Promise<CheckResult> {
  if (a.peerAlive() === false) return mismatch('the back-end survives a malformed chain (rejecting it or stopping the ring)', 'the back-end process exited');
  const mem = a.watch.check(a.writable, a.writableRings);
  if (mem) return mem;
  for (const rule of a.used) {
    const u = usedCheck(rig, rule);
    if (u) return u;
  }
  const serves = await stillServes(rig.session, a.openSession);
  if (serves) return serves;
  if (a.peerAlive() === false) return mismatch('the back-end survives a malformed chain', 'the back-end process exited');
  return undefined;
}

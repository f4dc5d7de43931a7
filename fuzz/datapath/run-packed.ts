/**
 * Runs one packed data-path scenario (virtio §2.8; CHECKLIST VU-PK-002/003/005/008, VU-DP-008,
 * VU-DP-014/017) on a fresh session: 16-entry packed rings on net pair 0 (INDIRECT_DESC when
 * offered), a warm-up that loops frames through TX for a `tx` scenario (so the ring's avail
 * position is mid-ring and a scenario often crosses the wrap), then canaries, and the scenario's
 * descriptors written into consecutive slots from the ring's avail position: each slot's
 * AVAIL/USED bits are those of its wrap (a scenario can flip them), every slot but the first is
 * stored whole, and the first slot's flags are stored last, so the device sees the batch at
 * once (VU-PK-010).
 *
 * The oracles are those of the split runner, read the packed way:
 * 1. crash — the process died;
 * 2. corruption — guest memory changed outside the device-writable bytes of in-bounds
 *    descriptors, the posted slots (where used descriptors go), the other ring and its posted RX
 *    buffers, and the device event areas; or a used descriptor with WRITE claims more bytes than
 *    the scenario's writable descriptors hold;
 * 3. state-loss — a posted slot the device rewrote as used (AVAIL = USED = the slot's wrap)
 *    names a buffer id no posted descriptor carries, or the other ring's driver saw a used id not
 *    in flight;
 * 4. hang — the same connection stops answering GET_FEATURES;
 * 5. liveness — a fresh session starts and loops traffic.
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { PACKED_DESC, PACKED_EVENT, PackedDescFlag, VirtioFeature, hasFeature } from '../../fakes/wire/index.js';
import type { MemfdGuestMemory } from '../../fakes/memory/index.js';
import { MemoryWatch, type GpaRange } from '../../conformance/verify/bad-chain.js';
import { NET_HDR_LEN, testFrame } from '../../conformance/verify/data-net-loop.js';
import { PackedPair } from '../../conformance/verify/data-packed-loop.js';
import { mismatch, type Mismatch } from '../../conformance/verify/ring-verdict.js';
import { Finding, FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { FRAME, RunSteps, mismatchFinding, netHeader, resolve, sleep, tableAddr, writableOf, type DatapathRunOptions, type Places } from './run-steps.js';
import { DATAPATH_QUEUE_SIZE, SCRATCH_BYTES, describeScenario, type DatapathScenario, type DescSpec } from './scenario.js';

const QUEUE = DATAPATH_QUEUE_SIZE;
const AVAIL_USED = PackedDescFlag.AVAIL | PackedDescFlag.USED;

/** The peer does not offer VIRTIO_F_RING_PACKED, so a packed scenario cannot run on it. */
export class PackedNotOfferedError extends Error {
  override readonly name = 'PackedNotOfferedError';
}

/** The 16 bytes of a packed descriptor. */
function image(d: DescSpec, p: Places, flags: number): Uint8Array {
  const b = new Uint8Array(PACKED_DESC.SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(PACKED_DESC.ADDR, BigInt.asUintN(64, resolve(d.addr, p)), true);
  v.setUint32(PACKED_DESC.LEN, d.len >>> 0, true);
  v.setUint16(PACKED_DESC.ID, d.next & 0xffff, true);
  v.setUint16(PACKED_DESC.FLAGS, flags & 0xffff, true);
  return b;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Slots `pos`, `pos + 1`, … of a ring whose avail wrap counter at `pos` is `wrap`. */
class Slots {
  constructor(readonly descAddr: number, readonly pos: number, readonly wrap: boolean) {}
  addr(i: number): number {
    return this.descAddr + ((this.pos + i) % QUEUE) * PACKED_DESC.SIZE;
  }
  /** The wrap counter of the i-th slot: it flips where the ring wraps. */
  wrapOf(i: number): boolean {
    return this.pos + i >= QUEUE ? !this.wrap : this.wrap;
  }
  /** AVAIL = wrap and USED = !wrap: available in that slot's lap (virtio §2.8.1). */
  availBits(i: number): number {
    return this.wrapOf(i) ? PackedDescFlag.AVAIL : PackedDescFlag.USED;
  }
}

/** Runs packed scenario `s` on `peer` (started). Throws a {@link Finding}. */
export async function runPackedScenario(peer: FuzzPeer, s: DatapathScenario, o: DatapathRunOptions): Promise<void> {
  const run = new RunSteps(peer, o, describeScenario(s));
  const session = await run.step('connecting', () => run.open());
  let pair: PackedPair | undefined;
  try {
    const offered = await run.step('GET_FEATURES', () => session.getFeatures());
    if (!hasFeature(offered, VirtioFeature.RING_PACKED)) throw new PackedNotOfferedError(`${peer.name} does not offer VIRTIO_F_RING_PACKED (bit 34): packed scenarios cannot run on it`);
    const pp = await run.step('starting packed rings', async () => {
      const opened = await PackedPair.open({ openSession: async () => session }, QUEUE, { indirect: hasFeature(offered, VirtioFeature.INDIRECT_DESC) });
      if (!(opened instanceof PackedPair)) throw new Error(`negotiating packed rings: ${opened ? `expected ${opened.expected.join(' / ')}, got ${opened.actual}` : 'refused'}`);
      pair = opened;
      await opened.start();
      return opened;
    });
    if (s.ring === 'tx') {
      const ctx = { waitMs: Math.max(1000, o.replyTimeoutMs), signal: new AbortController().signal };
      const warm = await run.step('the warm-up', () => pp.loop(ctx, 4, FRAME));
      if (warm) await run.warmUpFailed(warm.actual);
      pp.drainUsed();
    }
    const ring = s.ring === 'tx' ? pp.tx : pp.rx;
    const other = s.ring === 'tx' ? pp.rx : pp.tx;
    const position = ring.driver.position();
    const slots = new Slots(ring.driver.descAddr, position.nextAvail, position.availWrap);
    const n = s.descs.length;
    const mem = pp.mem;
    const watch = MemoryWatch.armOn(mem, pp.alloc, (writableRings) => {
      const ok: GpaRange[] = pp.rings.map((r) => ({ start: r.driver.deviceEventAddr, len: PACKED_EVENT.SIZE }));
      ok.push({ start: other.driver.descAddr, len: QUEUE * PACKED_DESC.SIZE });
      for (let i = 0; i < n; i++) ok.push({ start: slots.addr(i), len: PACKED_DESC.SIZE });
      for (const idx of writableRings) for (const b of pp.rings[idx]!.idToBuf.values()) ok.push({ start: pp.bufAddr(idx, b), len: pp.rxBufferLen });
      return ok;
    });
    const region = mem.regions[0]!;
    const last = mem.regions.at(-1)!;
    const p: Places = { scratch: pp.alloc.alloc(SCRATCH_BYTES, 4096), start: region.guestPhysAddr, end: last.guestPhysAddr + last.size };
    if (s.ring === 'tx') {
      mem.write(p.scratch, netHeader(s.header));
      mem.write(p.scratch + NET_HDR_LEN, testFrame(9, FRAME));
    }
    // Indirect table entries: the device ignores their id and their AVAIL/USED bits (§2.8.7).
    s.tables.forEach((t, ti) => t.forEach((d, i) => mem.write(tableAddr(p, ti) + i * PACKED_DESC.SIZE, image(d, p, d.flags))));
    const images = s.descs.map((d, i) => image(d, p, d.flags ^ slots.availBits(i)));
    for (let i = n - 1; i >= 1; i--) mem.write(slots.addr(i), images[i]!);
    mem.write(slots.addr(0), images[0]!.subarray(0, PACKED_DESC.FLAGS));
    if (s.ring === 'rx') pp.addTxChain(testFrame(7, FRAME));
    watch.snapshot();
    mem.writeU16(slots.addr(0) + PACKED_DESC.FLAGS, new DataView(images[0]!.buffer).getUint16(PACKED_DESC.FLAGS, true));
    eventfdWrite(ring.kickFd);
    if (s.ring === 'rx') {
      pp.tx.driver.publish();
      eventfdWrite(pp.tx.kickFd);
    }
    await sleep(o.quietMs ?? 60);

    await run.survived();
    const w = writableOf(s, p);
    const changed = watch.check(w.ranges, s.ring === 'tx' ? [0] : []);
    if (changed) throw mismatchFinding(FindingKind.CORRUPTION, changed, run.log);
    const used = usedInPostedSlots(mem, slots, images, s, w.total);
    if (used) throw mismatchFinding(used.kind, used.m, run.log);
    // The other ring's driver is intact: let it read what the device returned there.
    const out = { id: 0, len: 0 };
    while (other.driver.popUsedInto(out));
    const v = other.driver.tracker.violations[0];
    if (v) {
      const kind = v.rule === 'VU-PK-003' ? FindingKind.STATE_LOSS : FindingKind.CORRUPTION;
      throw new Finding(kind, `expected the ${s.ring === 'tx' ? 'RX' : 'TX'} ring's used descriptors to be honest (${v.rule}); got ${v.detail}`, run.log);
    }
    await run.stillAnswers(session);
  } finally {
    pair?.close();
    session.close();
  }
  await run.liveness();
}

/**
 * Checks the posted slots the device rewrote as used descriptors (AVAIL = USED = the slot's
 * wrap): each must name a buffer id some posted descriptor carries, and with WRITE claim no more
 * than the scenario's writable bytes. A rewritten slot not yet marked used is a buffer the device
 * still holds, which is allowed.
 */
function usedInPostedSlots(mem: MemfdGuestMemory, slots: Slots, images: readonly Uint8Array[], s: DatapathScenario, writable: number): { kind: FindingKind; m: Mismatch } | undefined {
  const ids = new Set(s.descs.map((d) => d.next & 0xffff));
  const ring = s.ring.toUpperCase();
  for (let i = 0; i < images.length; i++) {
    const now = mem.read(slots.addr(i), PACKED_DESC.SIZE);
    if (sameBytes(now, images[i]!)) continue;
    const v = new DataView(now.buffer, now.byteOffset, now.byteLength);
    const flags = v.getUint16(PACKED_DESC.FLAGS, true);
    const w = slots.wrapOf(i);
    if ((flags & AVAIL_USED) !== (w ? AVAIL_USED : 0)) continue;
    const id = v.getUint16(PACKED_DESC.ID, true);
    const len = v.getUint32(PACKED_DESC.LEN, true);
    const slot = (slots.pos + i) % QUEUE;
    if (!ids.has(id)) {
      return {
        kind: FindingKind.STATE_LOSS,
        m: mismatch(`${ring} ring: used descriptors name only buffer ids the driver posted (${[...ids].join(', ')})`, `slot ${slot}: used descriptor {id ${id}, len ${len}, flags 0x${flags.toString(16)}}`),
      };
    }
    if ((flags & PackedDescFlag.WRITE) !== 0 && len > writable) {
      return {
        kind: FindingKind.CORRUPTION,
        m: mismatch(`${ring} ring: a used descriptor with WRITE claims at most the ${writable} writable bytes of valid posted buffers (VU-DP-008)`, `slot ${slot}: used descriptor {id ${id}, len ${len}}`),
      };
    }
  }
  return undefined;
}

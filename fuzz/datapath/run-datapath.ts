/**
 * Runs one data-path scenario on a fresh session: the rings of net pair 0 start, the TX variant
 * first loops a few good frames (so RX buffers are posted and the pair is known to work), free
 * guest memory and the file bytes in front of the region are filled with canaries, the scenario's
 * descriptors, tables and avail entries are written by hand (conformance/verify/bad-chain.ts, the
 * same helpers the descriptor-bounds cases use), the ring is kicked, and after a quiet window the
 * oracles run in order:
 *
 * 1. crash — the process died;
 * 2. corruption — guest memory changed outside the device-writable bytes of in-bounds descriptors,
 *    the used rings and the posted RX buffers (canaries), or a used element claims more bytes
 *    than every writable descriptor of the scenario holds;
 * 3. state-loss — a used element names a head that was never made available, or used->idx moved
 *    by more than the queue size (not checked after an avail index jump: re-processing stale slots
 *    is VU-DP-003, the conformance case's verdict, not a memory-safety finding);
 * 4. hang — the same connection stops answering GET_FEATURES (closing it is allowed);
 * 5. liveness — a fresh session starts and loops traffic.
 *
 * virtio lets a device drop a bad chain, return it with len 0, stop the ring or ask for a reset,
 * so no oracle asks for anything to be processed.
 * @module
 */
import { FrontendSession } from '../../fakes/frontend/index.js';
import { DescFlag, NET_HDR, PeerDisconnectedError, TimeoutError, VirtioFeature, featureMask } from '../../fakes/wire/index.js';
import {
  MemoryWatch, postRaw, usedCheck, writeDesc, writeDescAt, type GpaRange, type RawDesc,
} from '../../conformance/verify/bad-chain.js';
import { NET_HDR_LEN, loopCheck, sendFrames, testFrame } from '../../conformance/verify/data-net-loop.js';
import { RingRig } from '../../conformance/verify/ring-rig.js';
import type { Mismatch } from '../../conformance/verify/ring-verdict.js';
import { crashFinding, livenessFinding, timeoutFinding } from '../campaign/oracles.js';
import { Finding, FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { DATAPATH_QUEUE_SIZE, SCRATCH_BYTES, describeScenario, type AddrSpec, type DatapathScenario, type DescSpec } from './scenario.js';

const RX = 0;
const TX = 1;
const FRAME = 64;
const TABLE_STRIDE = 256;
const U64_TOP = (1n << 64n) - 16n;

/** Options of {@link runDatapathScenario}. */
export interface DatapathRunOptions {
  readonly replyTimeoutMs: number;
  /** How long the device gets to act on the posted chains (default 60 ms). */
  readonly quietMs?: number;
  /** Run the fresh-session liveness check afterwards (default true). */
  readonly liveness?: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the scenario's symbolic places are in this rig's memory. */
interface Places {
  readonly scratch: number;
  readonly start: number;
  readonly end: number;
}

function resolve(a: AddrSpec, p: Places): bigint {
  switch (a.k) {
    case 'scratch': return BigInt(p.scratch + a.off);
    case 'table': return BigInt(p.scratch + SCRATCH_BYTES / 2 + a.t * TABLE_STRIDE + a.off);
    case 'edge':
      switch (a.e) {
        case 'zero': return 0n;
        case 'before-start': return BigInt(p.start - 64);
        case 'last-16': return BigInt(p.end - 16);
        case 'end': return BigInt(p.end);
        case 'u64-top': return U64_TOP;
        case 'far': return 0x7fff_0000_0000n;
      }
  }
}

const raw = (d: DescSpec, p: Places): RawDesc => ({ addr: resolve(d.addr, p), len: d.len >>> 0, flags: d.flags & 0xffff, next: d.next & 0xffff });

/** Writable ranges of the scenario that lie inside guest memory, and their total bytes. */
function writableOf(s: DatapathScenario, p: Places): { ranges: GpaRange[]; total: number } {
  const ranges: GpaRange[] = [];
  let total = 0;
  for (const d of [...s.descs, ...s.tables.flat()]) {
    if ((d.flags & DescFlag.WRITE) === 0) continue;
    const a = resolve(d.addr, p);
    const len = d.len >>> 0;
    if (a < BigInt(p.start) || a + BigInt(len) > BigInt(p.end)) continue;
    ranges.push({ start: Number(a), len });
    total += len;
  }
  return { ranges, total };
}

function finding(kind: Finding['kind'], m: Mismatch, log: string[]): Finding {
  return new Finding(kind, `expected ${m.expected.join(' / ')}; got ${m.actual}`, log);
}

/** Runs `s` on `peer` (started). Throws a {@link Finding}. */
export async function runDatapathScenario(peer: FuzzPeer, s: DatapathScenario, o: DatapathRunOptions): Promise<void> {
  const log = describeScenario(s);
  const open = async (): Promise<FrontendSession> => new FrontendSession(await peer.connect(o.replyTimeoutMs), { replyTimeoutMs: o.replyTimeoutMs });
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof Finding) throw err;
      if (err instanceof TimeoutError) throw await timeoutFinding(peer, `${what}: ${err.message}`);
      throw (await crashFinding(peer, what)) ?? new Finding(FindingKind.LIVENESS, `${what} failed: ${(err as Error).message}`, log);
    }
  };
  const session = await wrap('connecting', open);
  let rig: RingRig | undefined;
  try {
    rig = await wrap('starting the rings', async () => {
      const r = await RingRig.open(session, { queueSize: DATAPATH_QUEUE_SIZE, features: featureMask(VirtioFeature.INDIRECT_DESC) });
      await r.startAll();
      return r;
    });
    const rg = rig;
    if (s.ring === 'tx') {
      const warm = await wrap('the warm-up', () => loopCheck(rg, 0, { count: 4, size: FRAME, timeoutMs: Math.max(1000, o.replyTimeoutMs) }));
      if (warm) throw (await crashFinding(peer, 'the warm-up')) ?? new Finding(FindingKind.LIVENESS, `warm-up before the scenario: ${warm.actual}`, log);
    }
    const ring = s.ring === 'tx' ? TX : RX;
    const watch = MemoryWatch.arm(rg);
    const region = rg.memory.regions[0];
    const last = rg.memory.regions.at(-1)!;
    const scratch = rg.alloc.alloc(SCRATCH_BYTES, 4096);
    const p: Places = { scratch, start: region.guestPhysAddr, end: last.guestPhysAddr + last.size };
    // The frame TX descriptors read: a net header with the scenario's offload fields, then a test frame.
    const hdr = new Uint8Array(NET_HDR_LEN);
    const hv = new DataView(hdr.buffer);
    hdr[NET_HDR.FLAGS] = s.header.flags;
    hdr[NET_HDR.GSO_TYPE] = s.header.gsoType;
    hv.setUint16(NET_HDR.HDR_LEN, s.header.hdrLen, true);
    hv.setUint16(NET_HDR.GSO_SIZE, s.header.gsoSize, true);
    hv.setUint16(NET_HDR.CSUM_START, s.header.csumStart, true);
    hv.setUint16(NET_HDR.CSUM_OFFSET, s.header.csumOffset, true);
    if (s.ring === 'tx') {
      rg.memory.write(scratch, hdr);
      rg.memory.write(scratch + NET_HDR_LEN, testFrame(9, FRAME));
    }
    s.descs.forEach((d, i) => writeDesc(rg, ring, i, raw(d, p)));
    s.tables.forEach((t, ti) => t.forEach((d, i) => writeDescAt(rg, p.scratch + SCRATCH_BYTES / 2 + ti * TABLE_STRIDE + i * 16, raw(d, p))));
    const from = [rg.usedIdx(RX), rg.usedIdx(TX)];
    if (s.ring === 'rx') sendFrames(rg, TX, [testFrame(7, FRAME)], false);
    watch.snapshot();
    const availFrom = rg.memory.readU16(rg.q(ring).driver.layout.availAddr + 2);
    postRaw(rg, ring, s.heads, s.availExtra ? availFrom + s.heads.length + s.availExtra : undefined);
    if (s.ring === 'rx') rg.publish(TX, true);
    await sleep(o.quietMs ?? 60);

    const crash = await crashFinding(peer, 'after the chains were posted');
    if (crash) throw new Finding(crash.kind, crash.summary, [...log, ...crash.detail]);
    if (peer.alive() === false) throw new Finding(FindingKind.CRASH, 'the back-end is gone after the chains were posted', log);
    const w = writableOf(s, p);
    const mem = watch.check(w.ranges, s.ring === 'tx' ? [RX] : []);
    if (mem) throw finding(FindingKind.CORRUPTION, mem, log);
    if (s.availExtra === 0) {
      for (const index of [RX, TX]) {
        const limits = new Map<number, number>(index === ring ? s.heads.map((h) => [h, w.total]) : []);
        for (const h of rg.q(index).headToBuf.keys()) if (!limits.has(h)) limits.set(h, index === RX ? rg.bufferSize : 0);
        const u = usedCheck(rg, { ring: index, from: from[index], limits, strictIds: true });
        if (u) throw finding(u.expected.some((e) => e.includes('used.len')) ? FindingKind.CORRUPTION : FindingKind.STATE_LOSS, u, log);
      }
    }
    if (!session.connection.isBroken) {
      try {
        await session.getFeatures();
      } catch (err) {
        if (err instanceof TimeoutError) throw await timeoutFinding(peer, `GET_FEATURES on the same connection got no answer within ${o.replyTimeoutMs} ms after the chains were posted`);
        if (!(err instanceof PeerDisconnectedError)) throw err;
      }
    }
  } finally {
    rig?.close();
    session.close();
  }
  if (o.liveness ?? true) {
    const l = await livenessFinding(peer, { replyTimeoutMs: o.replyTimeoutMs });
    if (l) throw new Finding(l.kind, l.summary, [...log, ...l.detail]);
  }
}

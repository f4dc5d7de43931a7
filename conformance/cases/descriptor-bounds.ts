/**
 * Malformed descriptors (CHECKLIST §5.15 VU-DP-003/004/005/011/012/013/014/017, VU-ORD-003,
 * VU-NET-003): the largest class of real back-end bugs (PEERS §4: CVE-2018-1059, CVE-2022-2132,
 * CVE-2024-11614, B1, B2, B4, B35). Each variant posts one bad chain (or one batch of them) by
 * hand on a net ring and kicks. virtio lets the device reject the chain, return it empty, stop the
 * ring or ask for a reset (§2.1.2 DEVICE_NEEDS_RESET), so the cases never require later traffic on
 * that ring; they require that the back-end survives and still answers, writes no guest memory
 * outside the buffers it may write (canaries, see verify/bad-chain.ts), and does not complete a bad
 * chain with a `used.len` above its valid writable bytes. Each variant runs on its own session, so
 * a back-end that stops the ring after the first error still meets every variant.
 * @module
 */
import {
  DescFlag, NET_HDR, NetFeature, NetGsoType, NetHdrFlag, VirtioFeature, featureMask, hasFeature,
} from '../../fakes/wire/index.js';
import type { CaseContext, ConformanceCase, Verdict } from '../model.js';
import {
  MemoryWatch, aftermath, place, postRaw, writeChain, writeDesc, writeDescAt, type GpaRange, type RawSeg,
} from '../verify/bad-chain.js';
import { NET_HDR_LEN, drainRx, frameDiff, frameSeq, loopCheck, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { withRig, type RigOptions, type RingRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, type CheckResult } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const LOOP = { loopingNet: true } as const;
const U64_TOP = (1n << 64n) - 16n;

/** What a variant wrote and asks the runner to post. */
interface Posted {
  /** Heads for the avail ring of the target ring, in order. */
  heads: number[];
  /** Store this `avail->idx` instead of moving it by `heads.length` (index jumps). */
  idx?: number;
  /** Each head the device may return, with the writable bytes of its valid buffers (default 0). */
  limits?: Map<number, number>;
  /** Device-writable bytes of the valid buffers. */
  writable?: GpaRange[];
}

/** One malformed chain (or batch) on a fresh session. */
interface Variant {
  name: string;
  /** 'tx': on the TX ring after a warm-up; 'rx': on a fresh RX ring, then one frame is sent to land in it. */
  target: 'tx' | 'rx';
  /** Warm the pair up first (default: TX variants do; RX variants must not leave valid RX buffers ahead). */
  warm?: boolean;
  build(rig: RingRig, b: Builder): Posted;
}

/** Helpers for building chains in a rig whose free memory is canary-filled. */
class Builder {
  constructor(private readonly rig: RingRig, readonly ring: number) {}
  /** First GPA of the first region. */
  get start(): number {
    return this.rig.memory.regions[0].guestPhysAddr;
  }
  /** First GPA past the last region. */
  get end(): number {
    const r = this.rig.memory.regions.at(-1)!;
    return r.guestPhysAddr + r.size;
  }
  /** Queue size. */
  get n(): number {
    return this.rig.queueSize;
  }
  /** A 12-byte zero header followed by a test frame of `size` bytes; returns its GPA and length. */
  packet(seq: number, size = 64): { addr: number; len: number } {
    const bytes = new Uint8Array(NET_HDR_LEN + size);
    bytes.set(testFrame(seq, size), NET_HDR_LEN);
    return { addr: place(this.rig, bytes), len: bytes.length };
  }
  /** `len` bytes left as canaries (a buffer the device may write, or one it must not). */
  canary(len: number): number {
    return this.rig.alloc.alloc(len, 16);
  }
  chain(first: number, segs: readonly RawSeg[]): number {
    return writeChain(this.rig, this.ring, first, segs);
  }
  desc(index: number, addr: bigint | number, len: number, flags = 0, next = 0): void {
    writeDesc(this.rig, this.ring, index, { addr, len, flags, next });
  }
}

const one = (head: number, limit = 0): Map<number, number> => new Map([[head, limit]]);

/** Runs one variant: warm-up, canaries, post, quiet window, aftermath. */
async function probe(ctx: CaseContext, v: Variant, rigOptions: RigOptions, strictIds: boolean): Promise<CheckResult> {
  return withRig(ctx, rigOptions, async (rig) => {
    await rig.startAll();
    if (v.warm ?? v.target === 'tx') {
      const w = await loopCheck(rig, 0, { count: 4, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
      if (w) return mismatch(w.expected, `precondition: ${w.actual}`);
    }
    const ring = v.target === 'tx' ? TX : RX;
    const watch = MemoryWatch.arm(rig);
    const from = [rig.usedIdx(RX), rig.usedIdx(TX)];
    const posted = v.build(rig, new Builder(rig, ring));
    // Something for the bad RX chain to receive, staged before the snapshot (our own writes).
    if (v.target === 'rx') sendFrames(rig, TX, [testFrame(7, 64)], false);
    watch.snapshot();
    postRaw(rig, ring, posted.heads, posted.idx);
    if (v.target === 'rx') rig.publish(TX, true);
    await sleep(ctx.quietMs, ctx.signal);
    const limits = (index: number): Map<number, number> => {
      const m = new Map<number, number>(index === ring ? posted.limits ?? posted.heads.map((h) => [h, 0]) : []);
      // The rig's own chains on that ring: RX buffers (writable) and the TX frame (read-only).
      for (const h of rig.q(index).headToBuf.keys()) if (!m.has(h)) m.set(h, index === RX ? rig.bufferSize : 0);
      return m;
    };
    return aftermath(rig, {
      peerAlive: () => ctx.peerAlive(),
      openSession: () => ctx.openSession(),
      watch,
      writable: posted.writable ?? [],
      writableRings: [RX],
      used: [RX, TX].map((index) => ({ ring: index, from: from[index], limits: limits(index), strictIds })),
    });
  });
}

/** Runs every variant on its own session; the first failure names its variant. */
async function probeAll(ctx: CaseContext, variants: readonly Variant[], rigOptions: RigOptions = {}, strictIds = true): Promise<Verdict> {
  for (const v of variants) {
    if (ctx.signal.aborted) break;
    const r = await probe(ctx, v, rigOptions, strictIds);
    if (r) return fail(r.expected.map((e) => `${v.name}: ${e}`), r.actual);
    ctx.note(`${v.name}: survived, canaries intact, used elements honest`);
  }
  return pass(`${variants.length} malformed chains handled safely`);
}

// ---- VU-DP-004 ----------------------------------------------------------------------------------

const headNextVariants: readonly Variant[] = [
  { name: 'TX head = queue size', target: 'tx', build: (_r, b) => ({ heads: [b.n], limits: one(b.n) }) },
  { name: 'TX head = 0xffff', target: 'tx', build: () => ({ heads: [0xffff], limits: one(0xffff) }) },
  {
    name: 'TX next = queue size', target: 'tx',
    build: (_r, b) => { const p = b.packet(1); b.desc(0, p.addr, NET_HDR_LEN, DescFlag.NEXT, b.n); return { heads: [0] }; },
  },
  {
    name: 'TX next = 0xffff', target: 'tx',
    build: (_r, b) => { const p = b.packet(2); b.desc(0, p.addr, NET_HDR_LEN, DescFlag.NEXT, 0xffff); return { heads: [0] }; },
  },
  {
    name: 'RX next = queue size after a 64-byte writable buffer', target: 'rx',
    build: (_r, b) => {
      const buf = b.canary(64);
      b.desc(0, buf, 64, DescFlag.WRITE | DescFlag.NEXT, b.n);
      return { heads: [0], limits: one(0, 64), writable: [{ start: buf, len: 64 }] };
    },
  },
];

// ---- VU-DP-005 ----------------------------------------------------------------------------------

const loopVariants: readonly Variant[] = [
  {
    name: 'TX self-loop', target: 'tx',
    build: (_r, b) => { const p = b.packet(3); b.desc(0, p.addr, p.len, DescFlag.NEXT, 0); return { heads: [0] }; },
  },
  {
    name: 'TX 2-cycle', target: 'tx',
    build: (_r, b) => {
      const p = b.packet(4);
      b.desc(0, p.addr, NET_HDR_LEN, DescFlag.NEXT, 1);
      b.desc(1, p.addr + NET_HDR_LEN, p.len - NET_HDR_LEN, DescFlag.NEXT, 0);
      return { heads: [0] };
    },
  },
  {
    name: 'TX chain of queue size + 1 (every descriptor, then the first again)', target: 'tx',
    build: (_r, b) => {
      const p = b.packet(5);
      for (let i = 0; i < b.n; i++) b.desc(i, p.addr + (i % 4) * 16, 16, DescFlag.NEXT, (i + 1) % b.n);
      return { heads: [0] };
    },
  },
  {
    name: 'RX self-loop on a 64-byte writable buffer', target: 'rx',
    build: (_r, b) => {
      const buf = b.canary(64);
      b.desc(0, buf, 64, DescFlag.WRITE | DescFlag.NEXT, 0);
      return { heads: [0], limits: one(0, 64), writable: [{ start: buf, len: 64 }] };
    },
  },
];

/** A chain of exactly the queue size is legal (virtio §2.7.5) and must loop intact. */
async function fullLengthChain(ctx: CaseContext): Promise<CheckResult> {
  return withRig(ctx, {}, async (rig) => {
    await rig.startAll();
    const w = await loopCheck(rig, 0, { count: 4, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
    if (w) return mismatch(w.expected, `precondition: ${w.actual}`);
    const n = rig.queueSize;
    const size = n * 16 - NET_HDR_LEN;
    const frame = testFrame(42, size);
    const all = new Uint8Array(NET_HDR_LEN + size);
    all.set(frame, NET_HDR_LEN);
    const segs = Array.from({ length: n }, (_, i) => ({ addr: place(rig, all.subarray(i * 16, i * 16 + 16)), len: 16, writable: false }));
    const tx = rig.q(TX).driver;
    if (tx.addChain(segs) === undefined) throw new Error(`TX ring has fewer than ${n} free descriptors after the warm-up`);
    rig.publish(TX, true);
    const what = `a TX chain of exactly the queue size (${n} descriptors of 16 bytes) loops intact`;
    if (!(await waitUntil(() => rig.usedIdx(RX) !== rig.q(RX).driver.lastUsedIdx, ctx.waitMs, ctx.signal))) {
      return mismatch(what, `nothing came back within ${ctx.waitMs} ms (TX used.idx ${rig.usedIdx(TX)}, avail ${tx.availIdx})`);
    }
    await sleep(20, ctx.signal);
    const got = drainRx(rig, RX).find((r) => frameSeq(r.frame) === 42);
    if (!got) return mismatch(what, 'RX returned buffers, none with the frame');
    const d = frameDiff(frame, got.frame);
    return d ? mismatch(what, d) : undefined;
  });
}

// ---- VU-DP-014 ----------------------------------------------------------------------------------

const boundsVariants: readonly Variant[] = [
  { name: 'TX addr 2^64 − 16, len 64 (addr + len wraps)', target: 'tx', build: (_r, b) => { b.desc(0, U64_TOP, 64); return { heads: [0] }; } },
  { name: 'TX last 16 bytes of memory, len 64 (runs past the region)', target: 'tx', build: (_r, b) => { b.desc(0, b.end - 16, 64); return { heads: [0] }; } },
  { name: 'TX valid address, len 0xffffffff', target: 'tx', build: (_r, b) => { b.desc(0, b.packet(8).addr, 0xffff_ffff); return { heads: [0] }; } },
  { name: 'TX 64 bytes before the region, len 128', target: 'tx', build: (_r, b) => { b.desc(0, b.start - 64, 128); return { heads: [0] }; } },
  {
    name: 'TX valid header, then addr 2^64 − 16 len 64', target: 'tx',
    build: (_r, b) => { b.chain(0, [{ addr: b.packet(9).addr, len: NET_HDR_LEN }, { addr: U64_TOP, len: 64 }]); return { heads: [0] }; },
  },
  {
    name: 'RX writable last 16 bytes of memory, len 2048', target: 'rx',
    // The 16 in-region bytes are the driver's to offer; only what lies past them is out of bounds.
    build: (_r, b) => { b.desc(0, b.end - 16, 2048, DescFlag.WRITE); return { heads: [0], limits: one(0, 16), writable: [{ start: b.end - 16, len: 16 }] }; },
  },
  { name: 'RX writable 64 bytes before the region, len 128', target: 'rx', build: (_r, b) => { b.desc(0, b.start - 64, 128, DescFlag.WRITE); return { heads: [0] }; } },
  { name: 'RX writable addr 2^64 − 16, len 64', target: 'rx', build: (_r, b) => { b.desc(0, U64_TOP, 64, DescFlag.WRITE); return { heads: [0] }; } },
  {
    name: 'RX writable valid address, len 0xffffffff', target: 'rx',
    build: (_r, b) => {
      const buf = b.canary(64);
      return (b.desc(0, buf, 0xffff_ffff, DescFlag.WRITE), { heads: [0], limits: one(0, b.end - buf), writable: [{ start: buf, len: b.end - buf }] });
    },
  },
];

// ---- VU-DP-011 ----------------------------------------------------------------------------------

const shortVariants: readonly Variant[] = [{
  name: 'TX chains of 0…11 bytes (single descriptors, and 4+4+3, 6+5, 11×1 bytes)', target: 'tx',
  build: (_r, b) => {
    const p = b.packet(10);
    const heads: number[] = [];
    for (let len = 0; len < NET_HDR_LEN; len++) {
      b.desc(len, p.addr, len);
      heads.push(len);
    }
    let at = NET_HDR_LEN;
    for (const split of [[4, 4, 3], [6, 5], Array<number>(11).fill(1)]) {
      let off = 0;
      heads.push(b.chain(at, split.map((len) => { const s = { addr: p.addr + off, len }; off += len; return s; })));
      at += split.length;
    }
    return { heads };
  },
}];

// ---- VU-DP-003 ----------------------------------------------------------------------------------

const jumpVariants: readonly Variant[] = [
  { name: 'TX avail->idx moved forward by queue size + 1 with nothing new written', target: 'tx', build: (r, b) => ({ heads: [], idx: r.q(TX).driver.availIdx + b.n + 1, limits: new Map() }) },
  { name: 'TX avail->idx moved back by 1', target: 'tx', build: (r) => ({ heads: [], idx: r.q(TX).driver.availIdx - 1, limits: new Map() }) },
];

// ---- VU-DP-017 ----------------------------------------------------------------------------------

/** Writes an indirect table at `table` of `count` chained 16-byte readable entries over `packet`. */
function indirectTable(rig: RingRig, table: number, count: number, packet: number, flags = DescFlag.NEXT): void {
  for (let i = 0; i < count; i++) {
    const last = i + 1 === count;
    writeDescAt(rig, table + 16 * i, { addr: packet + (i % 4) * 16, len: 16, flags: last ? 0 : flags, next: last ? 0 : i + 1 });
  }
}

const TWO_REGIONS: RigOptions = {
  features: featureMask(VirtioFeature.INDIRECT_DESC), indirect: true,
  // GPA-contiguous, separate memfds: a table at the seam is valid guest memory in two mappings.
  regions: [{ guestPhysAddr: 0x1_0000_0000, size: 4 << 20 }, { guestPhysAddr: 0x1_0040_0000, size: 1 << 20 }],
};

const indirectVariants: readonly Variant[] = [
  {
    name: 'TX indirect table of 4 entries crossing from one region (memfd) into the next', target: 'tx',
    build: (rig, b) => {
      const seam = rig.memory.regions[1].guestPhysAddr;
      indirectTable(rig, seam - 32, 4, b.packet(11).addr);
      b.desc(0, seam - 32, 64, DescFlag.INDIRECT);
      return { heads: [0] };
    },
  },
  {
    name: 'TX indirect table of queue size + 1 entries', target: 'tx',
    build: (rig, b) => { const t = b.canary((b.n + 1) * 16); indirectTable(rig, t, b.n + 1, b.packet(12).addr); b.desc(0, t, (b.n + 1) * 16, DescFlag.INDIRECT); return { heads: [0] }; },
  },
  {
    name: 'TX indirect table of 32769 entries (32768·16 + 16 bytes)', target: 'tx',
    build: (rig, b) => { const t = b.canary(32769 * 16); indirectTable(rig, t, 32769, b.packet(13).addr); b.desc(0, t, 32769 * 16, DescFlag.INDIRECT); return { heads: [0] }; },
  },
  {
    name: 'TX indirect table of 2 entries whose first says next = 5', target: 'tx',
    build: (rig, b) => {
      const t = b.canary(32);
      const p = b.packet(14);
      writeDescAt(rig, t, { addr: p.addr, len: NET_HDR_LEN, flags: DescFlag.NEXT, next: 5 });
      writeDescAt(rig, t + 16, { addr: p.addr + NET_HDR_LEN, len: p.len - NET_HDR_LEN });
      b.desc(0, t, 32, DescFlag.INDIRECT);
      return { heads: [0] };
    },
  },
];

// ---- VU-DP-012 / VU-DP-013 ----------------------------------------------------------------------

const zeroLenVariants: readonly Variant[] = [
  {
    name: 'TX header, zero-length descriptor, frame, zero-length descriptor', target: 'tx',
    build: (_r, b) => {
      const p = b.packet(15);
      const c = b.canary(64);
      b.chain(0, [{ addr: p.addr, len: NET_HDR_LEN }, { addr: c, len: 0 }, { addr: p.addr + NET_HDR_LEN, len: p.len - NET_HDR_LEN }, { addr: c + 32, len: 0 }]);
      return { heads: [0] };
    },
  },
  {
    name: 'TX zero-length descriptor at addr 2^64 − 16 inside a chain', target: 'tx',
    build: (_r, b) => {
      const p = b.packet(16);
      b.chain(0, [{ addr: p.addr, len: NET_HDR_LEN }, { addr: U64_TOP, len: 0 }, { addr: p.addr + NET_HDR_LEN, len: p.len - NET_HDR_LEN }]);
      return { heads: [0] };
    },
  },
  {
    name: 'RX zero-length writable descriptor, then a 2048-byte writable buffer', target: 'rx',
    build: (_r, b) => {
      const c = b.canary(64);
      const buf = b.canary(2048);
      b.chain(0, [{ addr: c, len: 0, writable: true }, { addr: buf, len: 2048, writable: true }]);
      return { heads: [0], limits: one(0, 2048), writable: [{ start: buf, len: 2048 }] };
    },
  },
];

const orderVariants: readonly Variant[] = [
  {
    name: 'TX writable 64-byte descriptor before the readable header and frame', target: 'tx',
    build: (_r, b) => {
      const w = b.canary(64);
      const p = b.packet(17);
      b.chain(0, [{ addr: w, len: 64, writable: true }, { addr: p.addr, len: p.len }]);
      return { heads: [0], limits: one(0, 64), writable: [{ start: w, len: 64 }] };
    },
  },
  {
    name: 'RX writable 2048 bytes followed by a readable 64-byte descriptor', target: 'rx',
    build: (_r, b) => {
      const buf = b.canary(2048);
      const ro = b.canary(64);
      b.chain(0, [{ addr: buf, len: 2048, writable: true }, { addr: ro, len: 64 }]);
      // The readable descriptor must stay untouched (virtio §2.7.5, VU-DP-006) whatever the device does.
      return { heads: [0], limits: one(0, 2048), writable: [{ start: buf, len: 2048 }] };
    },
  },
];

// ---- VU-DP-006 (RX) ----------------------------------------------------------------------------

const readableRxVariants: readonly Variant[] = [
  {
    name: 'RX chain of one device-readable 2048-byte descriptor (no VRING_DESC_F_WRITE)', target: 'rx',
    // Nothing in the chain is writable: the device may return it with used.len 0 or drop the frame.
    build: (_r, b) => { b.chain(0, [{ addr: b.canary(2048), len: 2048 }]); return { heads: [0], limits: one(0, 0) }; },
  },
  {
    name: 'RX chain of a device-readable 64-byte descriptor, then 2048 writable bytes', target: 'rx',
    build: (_r, b) => {
      const ro = b.canary(64);
      const buf = b.canary(2048);
      b.chain(0, [{ addr: ro, len: 64 }, { addr: buf, len: 2048, writable: true }]);
      return { heads: [0], limits: one(0, 2048), writable: [{ start: buf, len: 2048 }] };
    },
  },
];

// ---- VU-ORD-003 ---------------------------------------------------------------------------------

const inOrderVariants: readonly Variant[] = [
  {
    name: 'IN_ORDER: TX head 0 → next 5 (not sequential), descriptor 1 in between is addr 2^64 − 16 len 4096', target: 'tx', warm: false,
    build: (_r, b) => {
      const p = b.packet(18);
      b.desc(0, p.addr, NET_HDR_LEN, DescFlag.NEXT, 5);
      b.desc(1, U64_TOP, 4096, DescFlag.NEXT, 2);
      b.desc(5, p.addr + NET_HDR_LEN, p.len - NET_HDR_LEN);
      return { heads: [0] };
    },
  },
  {
    name: 'IN_ORDER: TX next = queue size', target: 'tx', warm: false,
    build: (_r, b) => { const p = b.packet(19); b.desc(0, p.addr, NET_HDR_LEN, DescFlag.NEXT, b.n); return { heads: [0] }; },
  },
  {
    name: 'IN_ORDER: TX self-loop', target: 'tx', warm: false,
    build: (_r, b) => { const p = b.packet(20); b.desc(0, p.addr, p.len, DescFlag.NEXT, 0); return { heads: [0] }; },
  },
  {
    name: 'IN_ORDER: RX writable 64 bytes, then next = queue size', target: 'rx',
    build: (_r, b) => {
      const buf = b.canary(64);
      b.desc(0, buf, 64, DescFlag.WRITE | DescFlag.NEXT, b.n);
      return { heads: [0], limits: one(0, 64), writable: [{ start: buf, len: 64 }] };
    },
  },
];

// ---- VU-NET-003 ---------------------------------------------------------------------------------

/** An Ethernet/IPv4/TCP frame of `size` bytes (checksums zero), carrying `seq` in the payload. */
function tcpFrame(seq: number, size: number): Uint8Array {
  const f = testFrame(seq, size);
  const v = new DataView(f.buffer);
  v.setUint16(12, 0x0800);
  f[14] = 0x45; // IPv4, IHL 5
  v.setUint16(16, size - 14); // total length
  f[22] = 64; // TTL
  f[23] = 6; // TCP
  f.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  v.setUint16(34, 1234);
  v.setUint16(36, 80);
  f[46] = 0x50; // data offset 5
  for (let i = 24; i < 26; i++) f[i] = 0;
  for (let i = 50; i < 54; i++) f[i] = 0;
  return f;
}

/** A net header + TCP frame with the given offload fields, as one readable descriptor. */
function offloadPacket(rig: RingRig, seq: number, size: number, h: { flags?: number; gsoType?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): { addr: number; len: number } {
  const bytes = new Uint8Array(NET_HDR_LEN + size);
  const v = new DataView(bytes.buffer);
  bytes[NET_HDR.FLAGS] = h.flags ?? 0;
  bytes[NET_HDR.GSO_TYPE] = h.gsoType ?? NetGsoType.NONE;
  v.setUint16(NET_HDR.HDR_LEN, h.hdrLen ?? 0, true);
  v.setUint16(NET_HDR.GSO_SIZE, h.gsoSize ?? 0, true);
  v.setUint16(NET_HDR.CSUM_START, h.csumStart ?? 0, true);
  v.setUint16(NET_HDR.CSUM_OFFSET, h.csumOffset ?? 0, true);
  bytes.set(tcpFrame(seq, size), NET_HDR_LEN);
  return { addr: place(rig, bytes), len: bytes.length };
}

function offloadVariants(gso: boolean): Variant[] {
  const csum = NetHdrFlag.NEEDS_CSUM;
  const batch: [string, Parameters<typeof offloadPacket>[3]][] = [
    ['csum_start 100 bytes past the frame', { flags: csum, csumStart: 128 + 100, csumOffset: 16 }],
    ['csum_start and csum_offset 0xffff', { flags: csum, csumStart: 0xffff, csumOffset: 0xffff }],
    ['csum_start + csum_offset + 2 one byte past the frame', { flags: csum, csumStart: 34, csumOffset: 128 - 34 - 1 }],
    ['csum_start at the last byte', { flags: csum, csumStart: 127, csumOffset: 0 }],
  ];
  if (gso) {
    batch.push(
      ['gso_type TCPV4 with gso_size 0', { flags: csum, gsoType: NetGsoType.TCPV4, hdrLen: 54, gsoSize: 0, csumStart: 34, csumOffset: 16 }],
      ['gso_type TCPV4, hdr_len 0xffff, gso_size 1', { flags: csum, gsoType: NetGsoType.TCPV4, hdrLen: 0xffff, gsoSize: 1, csumStart: 34, csumOffset: 16 }],
    );
  }
  return batch.map(([name, h], i) => ({
    name: `TX header ${name}`, target: 'tx' as const,
    build: (rig: RingRig, b: Builder) => { const p = offloadPacket(rig, 30 + i, 128, h); b.desc(0, p.addr, p.len); return { heads: [0] }; },
  }));
}

const BAD_CHAIN_QUOTE = 'A driver must not create chains longer than the queue size, loops, or buffers outside memory; a device finding one treats it as a driver error (it may stop the ring or set DEVICE_NEEDS_RESET) and never accesses memory outside the buffers.';

/** The descriptor-bounds cases. */
export const descriptorBoundsCases: readonly ConformanceCase[] = Object.freeze([
  // virtio §2.7.5: descriptor indices live in [0, queue size); LVU virtqueue_get_head / read_next_desc.
  {
    id: 'backend/descriptor-bounds/head-and-next-out-of-range',
    title: 'A head or next index ≥ the queue size is a driver error, handled without out-of-bounds access',
    area: 'data-path', requirements: ['VU-DP-004'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.5', quote: `The descriptor table has queue-size entries; next and avail ring entries index it. ${BAD_CHAIN_QUOTE}` },
    description: 'On fresh sessions: a TX head of N and of 0xffff, a TX chain whose next is N and 0xffff, an RX chain whose next is N; each time the back-end must survive and answer, write nothing outside valid buffers, and not report used.len above the valid writable bytes.',
    timeoutMs: 40_000,
    run: (ctx) => probeAll(ctx, headNextVariants),
  },
  // virtio §2.7.5: "this is the maximum possible descriptor chain length"; DPDK 6ec17781 (B1).
  {
    id: 'backend/descriptor-bounds/loops-and-chain-length',
    title: 'Descriptor loops are detected; a chain of exactly the queue size still works',
    area: 'data-path', requirements: ['VU-DP-005'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.5', quote: `The queue size is the maximum possible descriptor chain length. ${BAD_CHAIN_QUOTE}` },
    description: 'A TX chain of exactly N descriptors must loop intact; then, on fresh sessions, a TX self-loop, a 2-cycle, a chain through all N descriptors back to the first (N + 1), and an RX self-loop on a writable buffer must be handled safely.',
    timeoutMs: 40_000,
    async run(ctx) {
      const full = await fullLengthChain(ctx);
      if (full) return fail(full.expected, full.actual);
      return probeAll(ctx, loopVariants);
    },
  },
  // CVE-2018-1059: translation must cover addr..addr+len, computed without overflow.
  {
    id: 'backend/descriptor-bounds/address-range-overflow',
    title: 'Buffers whose addr + len wraps 2^64 or leaves guest memory are not accessed out of bounds',
    area: 'data-path', requirements: ['VU-DP-014'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'vhost-user', anchor: 'Memory access', quote: 'The back-end may only access memory inside the regions the front-end gave it: a buffer is valid only when all of [addr, addr + len) lies in guest memory (CVE-2018-1059).' },
    description: 'On fresh sessions, TX buffers at 2^64 − 16 (len 64), 16 bytes before the end of memory (len 64), a valid address with len 0xffffffff, 64 bytes before the region (len 128), a valid header followed by one at 2^64 − 16; RX writable buffers likewise. Canaries fill free memory and the file bytes in front of the region.',
    timeoutMs: 60_000,
    run: (ctx) => probeAll(ctx, boundsVariants),
  },
  // CVE-2022-2132, DPDK f1670226 / e31b57e7 (B4): chains shorter than the 12-byte net header.
  {
    id: 'backend/descriptor-bounds/short-net-header',
    title: 'TX chains shorter than the 12-byte virtio-net header are dropped safely',
    area: 'data-path', requirements: ['VU-DP-011'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '5.1.6', quote: 'Every TX buffer starts with the virtio-net header (12 bytes with VERSION_1); a device must not read beyond a chain shorter than it (CVE-2022-2132).' },
    description: 'Posts 15 TX chains in one batch: single descriptors of 0…11 bytes and headers split 4+4+3, 6+5 and 11×1; the back-end must survive and answer, write nothing outside valid buffers and return nothing with used.len > 0.',
    run: (ctx) => probeAll(ctx, shortVariants),
  },
  // LVU virtqueue_num_heads: "Guest moved used index from %u to %u"; DPDK 38e64003 (B2).
  {
    id: 'backend/descriptor-bounds/avail-index-jump',
    title: 'avail->idx jumping by more than the queue size (or backwards) is not processed as work',
    area: 'data-path', requirements: ['VU-DP-003'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.6', quote: 'idx says where the driver would put the next entry; the driver must not decrement it and never has more than the queue size outstanding, so a larger jump is a driver error and the slots beyond hold no work.' },
    description: 'After a warm-up (every TX chain returned), stores avail->idx = old + N + 1, and on a fresh session old − 1, writing nothing else; the back-end must not return any chain (the slots hold stale heads), and must survive and answer.',
    run: (ctx) => probeAll(ctx, jumpVariants),
  },
  // DPDK c6ae7de0 / d0c24508 (CVE-2018-1059 work), libvhost-user virtqueue_read_indirect_desc fix (B35).
  {
    id: 'backend/descriptor-bounds/indirect-table-bounds',
    title: 'Indirect tables across a region boundary or longer than allowed are handled without overflow',
    area: 'data-path', requirements: ['VU-DP-017'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.INDIRECT_DESC] },
    spec: { doc: 'virtio', anchor: '2.7.5.3', quote: 'A driver must not create an indirect table longer than the queue size; the table is guest memory and may span regions, so the device must copy or reject it, never read past a mapping.' },
    description: 'With INDIRECT_DESC and two GPA-contiguous regions in separate memfds: a 4-entry table across the seam, tables of N + 1 and 32769 entries, and a 2-entry table whose first entry says next = 5; each on a fresh session, handled safely.',
    timeoutMs: 40_000,
    run: (ctx) => probeAll(ctx, indirectVariants, TWO_REGIONS),
  },
  // CHECKLIST D8: zero-length descriptors are not forbidden by virtio; LVU virtqueue_map_desc panics on them.
  {
    id: 'backend/descriptor-bounds/zero-length-descriptors',
    title: 'Zero-length descriptors inside a chain are skipped or rejected without crash or stray write',
    area: 'data-path', requirements: ['VU-DP-012'], level: 'ROBUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.5', quote: 'A descriptor of length 0 carries no bytes; the device must not crash on it, nor write at its address.' },
    description: 'TX chains with zero-length descriptors between and after the header and frame (one of them at 2^64 − 16), and an RX chain starting with a zero-length writable descriptor over canaries; each on a fresh session.',
    run: (ctx) => probeAll(ctx, zeroLenVariants),
  },
  // virtio §2.7.4: "The driver MUST place any device-writable descriptor elements after any device-readable descriptor elements."
  {
    id: 'backend/descriptor-bounds/writable-before-readable',
    title: 'Writable descriptors before readable ones are rejected or handled without out-of-bounds access',
    area: 'data-path', requirements: ['VU-DP-013'], level: 'ROBUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.4', quote: 'The driver must place device-writable descriptors after device-readable ones; the device must still never write a device-readable buffer.' },
    description: 'A TX chain of a writable 64-byte descriptor then the readable header + frame; an RX chain of 2048 writable bytes then a readable 64-byte descriptor over canaries, which must stay untouched.',
    run: (ctx) => probeAll(ctx, orderVariants),
  },
  // virtio §2.7.4: "A device MUST NOT write to a device-readable buffer"; found by fuzz datapath in DPDK 22.11.
  {
    id: 'backend/descriptor-bounds/readable-rx-descriptor-not-written',
    title: 'An RX chain\'s device-readable descriptors are never written with a received frame',
    area: 'data-path', requirements: ['VU-DP-006'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.4', quote: 'Each descriptor is device-readable or device-writable (VIRTQ_DESC_F_WRITE); a device must not write to a device-readable buffer, whichever ring the chain is on.' },
    description: 'On fresh RX rings, a chain of one readable 2048-byte descriptor, and a chain of a readable 64-byte descriptor followed by 2048 writable bytes, each over canaries; one frame is sent to land in it. The readable bytes must stay untouched and used.len must not exceed the writable bytes.',
    run: (ctx) => probeAll(ctx, readableRxVariants),
  },
  // virtio §2.7.5 / IN_ORDER: the sequential-descriptor promise does not excuse unchecked access.
  {
    id: 'backend/descriptor-bounds/in-order-still-validated',
    title: 'Under IN_ORDER, descriptors are still bounds-checked',
    area: 'data-path', requirements: ['VU-ORD-003'], level: 'ROBUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.IN_ORDER] },
    spec: { doc: 'virtio', anchor: '2.7.5', quote: 'With VIRTIO_F_IN_ORDER the driver uses descriptors in ring order; a device may rely on that for batching, but not for memory safety.' },
    description: 'Negotiates IN_ORDER; on fresh rings, a TX chain 0 → 5 that skips a descriptor 1 pointing at 2^64 − 16, a TX next = N, a TX self-loop, and an RX chain with next = N; each handled safely.',
    run: (ctx) => probeAll(ctx, inOrderVariants, { features: featureMask(VirtioFeature.IN_ORDER) }, false),
  },
  // CVE-2024-11614, DPDK 4dc4e33f: csum_start beyond the packet made the checksum helper read out of bounds.
  {
    id: 'backend/descriptor-bounds/tx-offload-metadata',
    title: 'TX offload fields pointing outside the frame are handled without out-of-bounds access',
    area: 'data-path', requirements: ['VU-NET-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [NetFeature.CSUM] },
    spec: { doc: 'virtio', anchor: '5.1.6.2', quote: 'With NEEDS_CSUM the device checksums from csum_start and stores it at csum_start + csum_offset; fields pointing past the frame (CVE-2024-11614) or GSO without gso_size must not make it access memory outside the buffers.' },
    description: 'Negotiates CSUM (and HOST_TSO4 when offered); on fresh sessions, TX frames of 128 bytes whose header has csum_start past the frame, 0xffff/0xffff, csum_start + csum_offset + 2 one byte too far, csum_start at the last byte, and (with TSO) gso_type TCPV4 with gso_size 0 or hdr_len 0xffff.',
    timeoutMs: 40_000,
    async run(ctx) {
      const gso = hasFeature(ctx.peer.features, NetFeature.HOST_TSO4);
      return probeAll(ctx, offloadVariants(gso), { features: featureMask(NetFeature.CSUM, ...(gso ? [NetFeature.HOST_TSO4] : [])) });
    },
  },
]);

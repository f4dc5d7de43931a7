/**
 * IOMMU support (vhost-user.rst "IOMMU support", IOTLB_MSG ID 22, BACKEND_IOTLB_MSG; CHECKLIST
 * §3.8, VU-IOTLB-*): with VIRTIO_F_ACCESS_PLATFORM the back-end reaches guest memory only
 * through IOTLB entries the front-end sent. A missing entry is reported as a MISS on the
 * back-end channel and the access waits for the UPDATE; an INVALIDATE takes the entry away;
 * malformed or unmappable entries are refused. The rig maps IOVA = GPA (see verify/iotlb.ts).
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { FrontendRequest, IotlbPerm, IotlbType, type Iotlb } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { withChannelRig } from '../verify/backend-channel.js';
import { drainRx, frameDiff, frameSeq, loopCheck, postRx, sendFrames, testFrame } from '../verify/data-net-loop.js';
import { IOMMU_NEEDS, IOMMU_RIG, awaitMiss, describeIotlb, invalidate, ramUpdate, sendIotlb, wholeRam } from '../verify/iotlb.js';
import { describeOutcome, expectAccepted, expectRefused, stillServes } from '../verify/ring-outcome.js';
import { withRig, type RingRig } from '../verify/ring-rig.js';
import { fail, pass, type CheckResult } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const SPEC = { doc: 'vhost-user', anchor: 'IOMMU support' } as const;
/** Invalidate/update rounds of the churn case. */
const CHURN_ROUNDS = 40;

/** Sends each entry with NEED_REPLY; a mismatch (VU-IOTLB-001) unless every one is acked 0. */
async function mapAll(rig: RingRig, entries: readonly Iotlb[]): Promise<CheckResult> {
  for (const u of entries) {
    const bad = expectAccepted(`${u.type === IotlbType.UPDATE ? 'UPDATE' : 'INVALIDATE'} ${describeIotlb(u)}`, FrontendRequest.IOTLB_MSG, await sendIotlb(rig, u));
    if (bad) return { expected: bad.expected.map((e) => `VU-IOTLB-001: ${e}`), actual: bad.actual };
  }
  return undefined;
}

/** The RX buffers of pair 0 as one IOVA range. */
const rxBuffers = (rig: RingRig): { base: number; len: number } => ({ base: rig.q(RX).bufBase, len: rig.queueSize * rig.bufferSize });

/** Entries mapping all of guest RAM read-write except `[base, base + len)`, which gets `perm`. */
function ramWithHole(rig: RingRig, base: number, len: number, perm: number): Iotlb[] {
  const out: Iotlb[] = [];
  for (const r of rig.memory.regions) {
    const end = r.guestPhysAddr + r.size;
    if (base < r.guestPhysAddr || base + len > end) {
      out.push(ramUpdate(rig, r.guestPhysAddr, r.size));
      continue;
    }
    if (base > r.guestPhysAddr) out.push(ramUpdate(rig, r.guestPhysAddr, base - r.guestPhysAddr));
    out.push(ramUpdate(rig, base, len, perm));
    if (base + len < end) out.push(ramUpdate(rig, base + len, end - base - len));
  }
  return out;
}

/** IOTLB_MSG bodies a back-end should refuse: undefined `type` or `perm` values (VU-IOTLB-007). */
const MALFORMED: { slug: string; what: string; patch: Partial<Iotlb> }[] = [
  { slug: 'type-0', what: 'type 0', patch: { type: 0 } },
  { slug: 'type-5', what: 'type 5 (after ACCESS_FAIL)', patch: { type: 5 } },
  { slug: 'type-255', what: 'type 255', patch: { type: 255 } },
  { slug: 'perm-4', what: 'an UPDATE with perm 4', patch: { perm: 4 } },
];

/** The IOTLB cases. */
export const iotlbCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/iotlb/miss-before-access-then-update',
    title: 'With an empty IOTLB the back-end reports a miss and touches nothing until an update maps guest RAM',
    area: 'iotlb', requirements: ['VU-IOTLB-002', 'VU-IOTLB-005', 'VU-IOTLB-001'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...IOMMU_NEEDS, loopingNet: true },
    spec: { ...SPEC, quote: 'When the back-end misses a translation it sends a VHOST_USER_BACKEND_IOTLB_MSG miss request and waits for the front-end\'s update; ring addresses are IOVAs; IOTLB_MSG is answered with zero on success.' },
    description: 'Negotiates ACCESS_PLATFORM, BACKEND_REQ and REPLY_ACK, sets up pair 0 with IOVA ring addresses and no IOTLB entry, posts RX buffers and TX frames and kicks: a MISS must arrive on the back-end channel and, through the quiet window, neither used ring nor any RX buffer may change; then one UPDATE per RAM region (acked 0) and 16 frames must loop.',
    async run(ctx) {
      return withChannelRig(ctx, IOMMU_RIG, async (rig, channel) => {
        postRx(rig, RX);
        sendFrames(rig, TX, [0, 1, 2, 3].map((i) => testFrame(i, 64)));
        const rxBase = rig.q(RX).bufBase;
        const rxLen = rig.queueSize * rig.bufferSize;
        const rxBefore = rig.memory.read(rxBase, rxLen);
        const usedBefore = [RX, TX].map((r) => rig.usedRingBytes(r));
        for (const r of [RX, TX]) eventfdWrite(rig.q(r).kickFd);
        const seen = await awaitMiss(channel, ctx.waitMs);
        const miss = seen.find((t) => t.type === IotlbType.MISS);
        if (miss === undefined) return fail('VU-IOTLB-002: a BACKEND_IOTLB_MSG miss on the back-end channel once the rings need an IOVA the IOTLB lacks', `none within ${ctx.waitMs} ms${seen.length > 0 ? ` (got ${seen.map(describeIotlb).join('; ')})` : ''}`);
        ctx.note(`first miss: ${describeIotlb(miss)}`);
        await sleep(ctx.quietMs, ctx.signal);
        for (const [i, r] of [RX, TX].entries()) {
          if (!Buffer.from(rig.usedRingBytes(r)).equals(Buffer.from(usedBefore[i]!))) return fail(`VU-IOTLB-002: used ring ${r} untouched while no IOTLB entry maps it`, `it changed (used.idx ${rig.usedIdx(r)})`);
        }
        if (!Buffer.from(rig.memory.read(rxBase, rxLen)).equals(Buffer.from(rxBefore))) return fail('VU-IOTLB-002: no RX buffer written while no IOTLB entry maps it', 'an RX buffer changed');
        for (const u of wholeRam(rig)) {
          const bad = expectAccepted(`UPDATE ${describeIotlb(u)}`, FrontendRequest.IOTLB_MSG, await sendIotlb(rig, u));
          if (bad) return fail(bad.expected.map((e) => `VU-IOTLB-001: ${e}`), bad.actual);
        }
        const loop = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 100, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (loop) return fail(loop.expected.map((e) => `VU-IOTLB-005: once the IOTLB maps guest RAM: ${e}`), loop.actual);
        const later = await channel.drain();
        ctx.note(`${seen.length} IOTLB message(s) before the update, ${later.length} back-end message(s) after`);
        return pass();
      });
    },
  },
  {
    id: 'backend/iotlb/invalidate-then-miss',
    title: 'After an INVALIDATE the back-end stops using the entry: the next access is a miss and nothing is written',
    area: 'iotlb', requirements: ['VU-IOTLB-004', 'VU-IOTLB-001'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...IOMMU_NEEDS, loopingNet: true },
    spec: { ...SPEC, quote: 'An invalidate request removes the translation; the back-end must not use it afterwards and misses again on the next access.' },
    description: 'Maps guest RAM, loops 8 frames, then INVALIDATEs the RX buffer range (acked 0) and sends 4 more frames: a MISS for an IOVA inside the RX buffers must arrive and no RX buffer may change through the quiet window; after a new UPDATE of that range 8 frames must loop.',
    async run(ctx) {
      return withChannelRig(ctx, IOMMU_RIG, async (rig, channel) => {
        const mapped = await mapAll(rig, wholeRam(rig));
        if (mapped) return fail(mapped.expected, mapped.actual);
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const rx = rxBuffers(rig);
        // A back-end may drop every entry the range overlaps (DPDK removes whole entries, and
        // ours covered all of RAM), so the rest of RAM is mapped again at once: afterwards
        // only the RX buffers lack a translation.
        const rest = ramWithHole(rig, rx.base, rx.len, IotlbPerm.RW).filter((u) => u.iova !== BigInt(rx.base));
        const gone = await mapAll(rig, [invalidate(rx.base, rx.len), ...rest]);
        if (gone) return fail(gone.expected, gone.actual);
        await channel.drain();
        postRx(rig, RX);
        const before = rig.memory.read(rx.base, rx.len);
        sendFrames(rig, TX, [200, 201, 202, 203].map((i) => testFrame(i, 64)));
        const inRange = (t: Iotlb): boolean => t.type === IotlbType.MISS && t.iova >= BigInt(rx.base) && t.iova < BigInt(rx.base + rx.len);
        const seen: Iotlb[] = [];
        const deadline = Date.now() + ctx.waitMs;
        while (!seen.some(inRange) && Date.now() < deadline) seen.push(...(await awaitMiss(channel, deadline - Date.now())));
        const inRx = seen.find(inRange);
        if (inRx === undefined) return fail(`VU-IOTLB-004: a MISS for an IOVA in the invalidated RX buffers [0x${rx.base.toString(16)}, +0x${rx.len.toString(16)})`, seen.length === 0 ? `no IOTLB message within ${ctx.waitMs} ms` : seen.map(describeIotlb).join('; '));
        await sleep(ctx.quietMs, ctx.signal);
        if (!Buffer.from(rig.memory.read(rx.base, rx.len)).equals(Buffer.from(before))) return fail('VU-IOTLB-004: no RX buffer written after its entry was invalidated', 'an RX buffer changed before a new UPDATE');
        const again = await mapAll(rig, [ramUpdate(rig, rx.base, rx.len)]);
        if (again) return fail(again.expected, again.actual);
        const loop = await loopCheck(rig, 0, { count: 8, size: 64, firstSeq: 300, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (loop) return fail(loop.expected.map((e) => `after the RX buffers were mapped again: ${e}`), loop.actual);
        return pass();
      });
    },
  },
  {
    id: 'backend/iotlb/read-only-entry-not-written',
    title: 'RX buffers mapped read-only through the IOTLB are never written',
    area: 'iotlb', requirements: ['VU-IOTLB-003'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...IOMMU_NEEDS, loopingNet: true },
    spec: { ...SPEC, quote: 'The back-end must not perform an access the entry\'s permission does not allow; it may report an access failure.' },
    description: 'Maps guest RAM read-write except the RX buffers, which get a read-only entry; posts RX buffers and sends 8 frames: through the quiet window no RX buffer and no RX used entry may change (a MISS asking for write access, or an ACCESS_FAIL, is what the back-end may send instead); then the device must still answer.',
    async run(ctx) {
      return withChannelRig(ctx, IOMMU_RIG, async (rig, channel) => {
        const rx = rxBuffers(rig);
        const mapped = await mapAll(rig, ramWithHole(rig, rx.base, rx.len, IotlbPerm.RO));
        if (mapped) return fail(mapped.expected, mapped.actual);
        postRx(rig, RX);
        const before = rig.memory.read(rx.base, rx.len);
        const usedBefore = rig.usedIdx(RX);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(400 + i, 64)));
        await sleep(ctx.quietMs, ctx.signal);
        const seen = (await channel.drain()).length;
        ctx.note(`${seen} back-end channel message(s) during the window; TX used.idx ${rig.usedIdx(TX)}`);
        if (!Buffer.from(rig.memory.read(rx.base, rx.len)).equals(Buffer.from(before))) return fail('VU-IOTLB-003: no write into RX buffers whose IOTLB entry is read-only', 'an RX buffer changed');
        if (rig.usedIdx(RX) !== usedBefore) return fail('VU-IOTLB-003: no RX buffer used while its IOTLB entry is read-only', `RX used.idx moved from ${usedBefore} to ${rig.usedIdx(RX)}`);
        const alive = await stillServes(rig.session, () => ctx.openSession());
        return alive ? fail(alive.expected, alive.actual) : pass();
      });
    },
  },
  {
    id: 'backend/iotlb/update-outside-memory-refused',
    title: 'An UPDATE whose uaddr range lies outside every memory region is refused',
    area: 'iotlb', requirements: ['VU-IOTLB-006'], level: 'MUST', role: 'backend',
    needs: IOMMU_NEEDS,
    spec: { ...SPEC, quote: 'The update\'s uaddr..uaddr+size must lie within a memory region of SET_MEM_TABLE; otherwise the back-end rejects it.' },
    description: 'After SET_MEM_TABLE, sends IOTLB_MSG UPDATE iova 0x1000 size 0x1000 with a uaddr 1 GiB past the end of the only region (NEED_REPLY): the ack must be non-zero (or the connection closed); the device must still answer.',
    async run(ctx) {
      return withRig(ctx, IOMMU_RIG, async (rig) => {
        const last = rig.memory.regions[rig.memory.regions.length - 1]!;
        const uaddr = BigInt(last.userAddr + last.size) + (1n << 30n);
        const outcome = await sendIotlb(rig, { type: IotlbType.UPDATE, iova: 0x1000n, size: 0x1000n, uaddr, perm: IotlbPerm.RW });
        ctx.note(`UPDATE uaddr 0x${uaddr.toString(16)}: ${describeOutcome(outcome)}`);
        const refused = expectRefused(`UPDATE of uaddr 0x${uaddr.toString(16)} (outside every region)`, FrontendRequest.IOTLB_MSG, outcome);
        if (refused) return fail(refused.expected, refused.actual);
        const alive = await stillServes(outcome.kind === 'closed' ? undefined : rig.session, () => ctx.openSession());
        return alive ? fail(alive.expected, alive.actual) : pass();
      });
    },
  },
  {
    id: 'backend/iotlb/invalidate-update-churn-under-traffic',
    title: 'INVALIDATE and UPDATE of the RX buffers, interleaved with traffic, repeat and damage no frame, and traffic resumes',
    area: 'iotlb', requirements: ['VU-IOTLB-008'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...IOMMU_NEEDS, loopingNet: true },
    spec: { ...SPEC, quote: 'IOTLB updates and invalidations arrive on the socket while the rings run; the back-end must not use a translation after it was invalidated nor lose one it was given.' },
    description: `Maps guest RAM and loops 8 frames; then ${CHURN_ROUNDS} rounds of: 4 frames sent and kicked, INVALIDATE of the RX buffers (the rest of RAM mapped again at once), UPDATE of the RX buffers, each acked 0 — so the data path runs while its translations come and go (the race behind DPDK 04c27cb6). Misses on the back-end channel are read as they come. No frame may come back twice or damaged (one whose RX buffer was unmapped may be dropped), the back-end must still serve, and with RAM mapped 16 more frames must loop.`,
    timeoutMs: 40_000,
    async run(ctx) {
      return withChannelRig(ctx, IOMMU_RIG, async (rig, channel) => {
        const mapped = await mapAll(rig, wholeRam(rig));
        if (mapped) return fail(mapped.expected, mapped.actual);
        const warm = await loopCheck(rig, 0, { count: 8, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const rx = rxBuffers(rig);
        const rest = ramWithHole(rig, rx.base, rx.len, IotlbPerm.RW).filter((u) => u.iova !== BigInt(rx.base));
        const sent = new Map<number, Uint8Array>();
        const seen = new Map<number, number>();
        const damaged: string[] = [];
        let misses = 0;
        const collect = async (): Promise<void> => {
          for (const m of await channel.drain()) {
            channel.ack(m);
            misses++;
          }
          for (const r of drainRx(rig, RX)) {
            const seq = frameSeq(r.frame);
            if (seq === undefined || !sent.has(seq)) continue;
            seen.set(seq, (seen.get(seq) ?? 0) + 1);
            const diff = frameDiff(sent.get(seq)!, r.frame);
            if (diff !== undefined) damaged.push(`frame ${seq}: ${diff}`);
          }
          rig.reclaim(TX);
        };
        postRx(rig, RX);
        let seq = 1000;
        for (let round = 0; round < CHURN_ROUNDS; round++) {
          const frames = [0, 1, 2, 3].map(() => testFrame(seq++, 64));
          try {
            sendFrames(rig, TX, frames);
            for (const f of frames) sent.set(frameSeq(f)!, f);
          } catch {
            // TX ring full: this round only churns the IOTLB.
          }
          const churn = await mapAll(rig, [invalidate(rx.base, rx.len), ...rest, ramUpdate(rig, rx.base, rx.len)]);
          if (churn) return fail(churn.expected.map((e) => `round ${round}: ${e}`), churn.actual);
          await collect();
        }
        const deadline = Date.now() + ctx.waitMs;
        while (seen.size < sent.size && Date.now() < deadline) {
          eventfdWrite(rig.q(TX).kickFd);
          eventfdWrite(rig.q(RX).kickFd);
          await sleep(20, ctx.signal);
          await collect();
        }
        await sleep(ctx.quietMs, ctx.signal);
        await collect();
        ctx.note(`${sent.size} frames over ${CHURN_ROUNDS} rounds; ${misses} back-end channel message(s)`);
        // A frame whose RX buffer had no translation may be dropped, as a NIC drops with no
        // buffer to land in (DPDK's enqueue does); none may come back twice or damaged.
        const expected = `none of the ${sent.size} frames comes back twice or damaged`;
        const lost = [...sent.keys()].filter((k) => !seen.has(k)).length;
        const twice = [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} (${n} times)`);
        if (damaged.length > 0) return fail(expected, damaged.slice(0, 4).join('; '));
        if (twice.length > 0) return fail(expected, `repeated: ${twice.slice(0, 8).join(', ')}`);
        const alive = await stillServes(rig.session, () => ctx.openSession());
        if (alive) return fail(alive.expected, alive.actual);
        const after = await loopCheck(rig, 0, { count: 16, size: 64, firstSeq: 9000, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (after) return fail(after.expected.map((e) => `after the churn, with RAM mapped: ${e}`), after.actual);
        return pass(`${sent.size} frames (${lost} dropped while unmapped), ${misses} back-end message(s); traffic resumed`);
      });
    },
  },
  ...MALFORMED.map((m): ConformanceCase => ({
    id: `backend/iotlb/malformed-refused/${m.slug}`,
    title: `IOTLB_MSG with ${m.what} is refused`,
    area: 'iotlb', requirements: ['VU-IOTLB-007'], level: 'SHOULD', role: 'backend',
    needs: IOMMU_NEEDS,
    spec: { ...SPEC, quote: 'type is one of MISS 1, UPDATE 2, INVALIDATE 3, ACCESS_FAIL 4; perm is NONE 0, RO 1, WO 2 or RW 3; anything else is invalid.' },
    description: `After SET_MEM_TABLE, sends an IOTLB_MSG mapping the first RAM page but with ${m.what} (NEED_REPLY): the ack must be non-zero (or the connection closed); the device must still answer.`,
    async run(ctx) {
      return withRig(ctx, IOMMU_RIG, async (rig) => {
        const r = rig.memory.regions[0]!;
        const msg = { ...ramUpdate(rig, r.guestPhysAddr, 0x1000), ...m.patch };
        const outcome = await sendIotlb(rig, msg);
        const refused = expectRefused(`with ${m.what}`, FrontendRequest.IOTLB_MSG, outcome);
        if (refused) return fail(refused.expected, refused.actual);
        const alive = await stillServes(outcome.kind === 'closed' ? undefined : rig.session, () => ctx.openSession());
        return alive ? fail(alive.expected, alive.actual) : pass();
      });
    },
  })),
]);

/**
 * The split-ring data path as a vhost-user back-end runs it (virtio 1.2 §2.7; CHECKLIST §5.15,
 * VU-DP-*): chained and indirect descriptors, `used.len`, device-readable buffers and the
 * descriptor table left alone, every chain returned exactly once, nothing taken before the
 * `avail->idx` store; packed rings where offered (§2.8, VU-PK-*).
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { PACKED_DESC, PackedDescFlag, VirtioFeature, featureMask } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { chainLoop } from '../verify/data-chain-loop.js';
import { NET_HDR_LEN, frameSeq, loopCheck, postRx, sendFrames, testFrame, trackerCheck, warmUp } from '../verify/data-net-loop.js';
import { PackedPair, packedLoop } from '../verify/data-packed-loop.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, mismatch, pass, verdictOf } from '../verify/ring-verdict.js';
import { sleep, takeSignals, waitSignals, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const LOOP = { loopingNet: true } as const;

/** The data-path cases. */
export const dataPathCases: readonly ConformanceCase[] = Object.freeze([
  // virtio §2.7.4: "The device MUST NOT make assumptions about the particular arrangement of
  // descriptors" (CVE-2022-2132: header split across descriptors).
  {
    id: 'backend/data-path/chained-descriptors',
    title: 'Header and frame split over several descriptors loop intact',
    area: 'data-path', requirements: ['VU-DP-010'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.4', quote: 'The device must not make assumptions about the arrangement of descriptors in a chain (e.g. the header in its own descriptor).' },
    description: 'TX chains split header + frame as 2+10+14+rest bytes; RX chains offer 5+40+rest writable bytes; 16 frames of 300 bytes must loop intact.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        return verdictOf(await chainLoop(rig, 0, { count: 16, size: 300, txSplit: [2, 10, 14, 1], rxSplit: [5, 40, 1], timeoutMs: ctx.waitMs, signal: ctx.signal }), trackerCheck(rig));
      });
    },
  },
  // virtio §2.7.5.3 "Indirect Descriptors".
  {
    id: 'backend/data-path/indirect-descriptors',
    title: 'Chains in indirect tables loop intact',
    area: 'data-path', requirements: ['VU-DP-016', 'VU-FEAT-007'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.INDIRECT_DESC] },
    spec: { doc: 'virtio', anchor: '2.7.5.3', quote: 'With VIRTIO_F_INDIRECT_DESC a descriptor with INDIRECT points to a table of descriptors that forms the chain.' },
    description: 'Negotiates INDIRECT_DESC; TX and RX chains of 3–4 pieces sit in indirect tables; 16 frames of 300 bytes must loop intact.',
    async run(ctx) {
      return withRig(ctx, { features: featureMask(VirtioFeature.INDIRECT_DESC), indirect: true }, async (rig) => {
        await rig.startAll();
        return verdictOf(await chainLoop(rig, 0, { count: 16, size: 300, indirect: true, txSplit: [12, 20, 1], rxSplit: [12, 100, 1], timeoutMs: ctx.waitMs, signal: ctx.signal }), trackerCheck(rig));
      });
    },
  },
  // virtio §2.7.8: `len` is the number of bytes written into the buffer (0 for a read-only chain).
  {
    id: 'backend/data-path/used-len',
    title: 'used.len is 0 for TX chains and header + frame for RX chains',
    area: 'data-path', requirements: ['VU-DP-008'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.8', quote: 'len is the total of bytes written into the buffer; the device must not report more than it wrote.' },
    description: 'Loops 16 frames of 100 bytes and reads every used element: TX len must be 0, RX len 12 + 100 (never above the chain\'s writable bytes).',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        if (!(await warmUp(rig, 0, ctx.waitMs, ctx.signal))) return fail('frames loop', `no probe came back within ${ctx.waitMs} ms`);
        await waitUntil(() => { rig.reclaim(TX); return rig.q(TX).driver.inFlight === 0; }, ctx.waitMs, ctx.signal);
        postRx(rig, RX);
        sendFrames(rig, TX, Array.from({ length: 16 }, (_, i) => testFrame(i, 100)));
        await waitUntil(() => rig.usedIdx(RX) - rig.q(RX).driver.lastUsedIdx >= 16 && rig.q(TX).driver.lastUsedIdx !== rig.usedIdx(TX), ctx.waitMs, ctx.signal);
        await sleep(20, ctx.signal);
        const txLens = rig.reclaim(TX).map((e) => e.len);
        const rxLens = rig.reclaim(RX).map((e) => e.len);
        const badTx = txLens.find((l) => l !== 0);
        if (badTx !== undefined) return fail('used.len 0 for read-only TX chains', `TX used.len ${badTx}`);
        const badRx = rxLens.find((l) => l !== NET_HDR_LEN + 100);
        if (badRx !== undefined) return fail(`RX used.len ${NET_HDR_LEN + 100} (12-byte header + 100-byte frame)`, `RX used.len ${badRx}`);
        if (rxLens.length < 16) return fail('16 RX used elements', `${rxLens.length}`);
        return verdictOf(trackerCheck(rig));
      });
    },
  },
  // virtio §2.7.5: "A device MUST NOT write to a device-readable buffer", nor the descriptor table.
  {
    id: 'backend/data-path/readable-buffers-untouched',
    title: 'Device-readable buffers and the descriptor table are never written',
    area: 'data-path', requirements: ['VU-DP-006'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.5', quote: 'The device must not write to a device-readable buffer, and must not write the descriptor table.' },
    description: 'Copies every TX buffer when it is added and compares it when it is returned; snapshots the TX descriptor table after publishing a batch and compares it once the batch is returned.',
    async run(ctx) {
      return withRig(ctx, { checkReadable: true }, async (rig) => {
        await rig.startAll();
        const loop = await loopCheck(rig, 0, { count: 128, size: 512, timeoutMs: ctx.waitMs, signal: ctx.signal });
        // A written readable buffer usually also corrupts the looped frame: report the cause first.
        if (loop) return verdictOf(trackerCheck(rig, [TX]), loop);
        const { descAddr, size } = rig.q(TX).driver.layout;
        sendFrames(rig, TX, Array.from({ length: 16 }, (_, i) => testFrame(1000 + i, 200)));
        const table = rig.memory.read(descAddr, 16 * size);
        await waitUntil(() => rig.usedIdx(TX) === rig.q(TX).driver.availIdx, ctx.waitMs, ctx.signal);
        await sleep(ctx.quietMs, ctx.signal);
        const now = rig.memory.read(descAddr, 16 * size);
        const at = now.findIndex((b, i) => b !== table[i]);
        return verdictOf(
          trackerCheck(rig, [TX]),
          at >= 0 ? mismatch('the TX descriptor table is not written by the device', `byte ${at} (descriptor ${at >> 4}) changed from 0x${table[at].toString(16)} to 0x${now[at].toString(16)}`) : undefined,
        );
      });
    },
  },
  // virtio §2.7.8 / §2.7.13: each published chain comes back exactly once, by its head id.
  {
    id: 'backend/data-path/each-chain-returned-once',
    title: 'Every chain is returned exactly once, by its head',
    area: 'data-path', requirements: ['VU-DP-019', 'VU-DP-008', 'VU-DP-002'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.8', quote: 'The used ring returns each chain once, identified by its head descriptor index.' },
    description: 'Loops 3000 frames through 64-entry rings (many laps of the rings) and checks the lifetime tracker: no unknown, unpublished or twice-returned head.',
    timeoutMs: 30_000,
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const loop = await loopCheck(rig, 0, { count: 3000, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        // The tracker names the cause (a head used twice, never published…); lost frames are its symptom.
        return verdictOf(trackerCheck(rig), loop);
      });
    },
  },
  // virtio §2.7.6/§2.7.13: a chain is the device's only from the avail->idx store that covers it.
  {
    id: 'backend/data-path/nothing-before-avail-idx',
    title: 'Chains staged in the avail ring but not covered by avail->idx are not touched',
    area: 'data-path', requirements: ['VU-DP-019', 'VU-DP-001'], level: 'MUST', role: 'backend', deviceTypes: NET, needs: LOOP,
    spec: { doc: 'virtio', anchor: '2.7.6', quote: 'The driver makes a chain available by the idx store; the device processes only entries below avail->idx.' },
    description: 'Writes 8 TX chains into the descriptor table and avail slots without moving avail->idx and kicks: nothing may be used in the quiet window; after the idx store all 8 are used.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        await rig.startAll();
        const warm = await loopCheck(rig, 0, { count: 4, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal });
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const used = rig.usedIdx(TX);
        sendFrames(rig, TX, Array.from({ length: 8 }, (_, i) => testFrame(100 + i, 64)), false);
        eventfdWrite(rig.q(TX).kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        const early = rig.usedIdx(TX);
        if (early !== used) return fail(`TX used.idx stays ${used} while avail->idx does not cover the staged chains`, `used.idx ${early}`);
        rig.publish(TX, true);
        if (!(await waitUntil(() => rig.usedIdx(TX) === ((used + 8) & 0xffff), ctx.waitMs, ctx.signal))) {
          return fail('the 8 chains are used once avail->idx covers them', `TX used.idx ${rig.usedIdx(TX)} (from ${used})`);
        }
        rig.reclaim(TX);
        return verdictOf(trackerCheck(rig));
      });
    },
  },
  // virtio §2.7.9 "In-order use of descriptors": with IN_ORDER the device uses buffers in the
  // order they were made available; it may write only the last used element of a batch and skip
  // the used index past the others.
  {
    id: 'backend/data-path/in-order-used-order',
    title: 'With IN_ORDER, TX and RX buffers are used in the order they were made available',
    area: 'data-path', requirements: ['VU-ORD-001', 'VU-ORD-002', 'VU-FEAT-007'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.IN_ORDER] },
    spec: { doc: 'virtio', anchor: '2.7.9', quote: 'If VIRTIO_F_IN_ORDER has been negotiated, the device must use buffers in the same order in which they have been available.' },
    description: 'After a warm-up session, negotiates IN_ORDER on fresh rings (descriptors taken in ring order, never recycled), marks every used slot with a sentinel id, posts 64 RX buffers and 32 TX frames; once all 32 loop, the used elements must cover the buffers in order, batch by batch: each written element names the head made available at its slot or, for a batch, the last head of the batch, whose other slots stay unwritten (VU-ORD-002).',
    async run(ctx) {
      // The checked rings must be fresh, so the warm-up (a back-end may forward only some time
      // after the first session's rings are up, as DPDK's port does) runs in a session of its own.
      const warm = await withRig(ctx, {}, async (w) => { await w.startAll(); return loopCheck(w, 0, { count: 4, size: 64, timeoutMs: ctx.waitMs, signal: ctx.signal }); });
      if (warm) return fail(warm.expected, `precondition (warm-up session): ${warm.actual}`);
      return withRig(ctx, { features: featureMask(VirtioFeature.IN_ORDER) }, async (rig) => {
        const SENTINEL = 0xffffffff;
        const usedElem = (ring: number, i: number): number => rig.q(ring).driver.layout.usedAddr + 4 + 8 * (i % rig.queueSize);
        for (const ring of [RX, TX]) for (let i = 0; i < rig.queueSize; i++) rig.memory.writeU32(usedElem(ring, i), SENTINEL);
        await rig.startAll();
        const heads = new Map<number, number[]>([[RX, []], [TX, []]]);
        for (let h = rig.addBuffer(RX, true); h >= 0; h = rig.addBuffer(RX, true)) heads.get(RX)!.push(h);
        rig.publish(RX);
        const n = 32;
        heads.set(TX, sendFrames(rig, TX, Array.from({ length: n }, (_, i) => testFrame(i, 64))));
        if (!(await waitUntil(() => rig.usedIdx(TX) === n && rig.usedIdx(RX) === n, ctx.waitMs, ctx.signal))) {
          return fail(`${n} TX chains used and ${n} frames received`, `TX used.idx ${rig.usedIdx(TX)}, RX used.idx ${rig.usedIdx(RX)} after ${ctx.waitMs} ms`);
        }
        // Batched use (VU-ORD-002): the element at the batch's first slot names the batch's last
        // buffer, the slots after it up to that buffer stay unwritten. Walk batch by batch.
        for (const ring of [RX, TX]) {
          const order = heads.get(ring)!;
          const written: string[] = [];
          for (let i = 0; i < n;) {
            const id = rig.memory.readU32(usedElem(ring, i));
            if (id === SENTINEL) {
              return fail(`used element ${i} of ring ${ring} is written: it starts a batch (the buffers before it are all accounted for)`, `it still holds the sentinel; written elements (slot:id) ${written.join(' ') || 'none'}`);
            }
            written.push(`${i}:${id}`);
            const last = order.indexOf(id, i);
            if (last < 0) {
              return fail(`used element ${i} of ring ${ring} names head ${order[i]} or, for a batch, a head made available after it`, `it names head ${id}; written elements (slot:id) ${written.join(' ')}`);
            }
            for (let k = i + 1; k <= last; k++) {
              const skipped = rig.memory.readU32(usedElem(ring, k));
              if (skipped !== SENTINEL) {
                return fail(`a batch written at slot ${i} for buffers ${i}–${last} of ring ${ring} leaves slots ${i + 1}–${last} unwritten`, `slot ${k} names head ${skipped}; written elements (slot:id) ${written.join(' ')}`);
              }
            }
            i = last + 1;
          }
        }
        return pass();
      });
    },
  },
  // virtio §2.8.1: a descriptor is available only when AVAIL equals the device's wrap counter
  // and USED differs from it; AVAIL = USED = 1 on a fresh ring is the pattern of a used one.
  {
    id: 'backend/data-path/packed-used-pattern-not-available',
    title: 'Packed rings: a descriptor with AVAIL = USED = 1 at the next slot is not taken as available',
    area: 'data-path', requirements: ['VU-PK-002'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8.1', quote: 'A descriptor is available when its AVAIL flag equals the driver wrap counter and its USED flag does not; the device must not use a descriptor it has not seen made available.' },
    description: 'On fresh packed rings (wrap counters 1) posts RX buffers, then writes a complete TX frame into slot 0 with AVAIL and USED both set and kicks: through the quiet window nothing may come back on RX. Then slot 0 is published properly and 32 frames must loop from it (a device that took the bogus slot would wait at slot 1).',
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        pair.postRx();
        const frame = testFrame(777, 64);
        const buf = pair.bufAddr(1, 63);
        const bytes = pair.mem.slice(buf, NET_HDR_LEN + frame.length);
        bytes.fill(0, 0, NET_HDR_LEN);
        bytes.set(frame, NET_HDR_LEN);
        const slot = pair.tx.driver.descAddr;
        pair.mem.writeU32(slot + PACKED_DESC.ADDR, buf);
        pair.mem.writeU32(slot + PACKED_DESC.ADDR + 4, Math.floor(buf / 0x1_0000_0000));
        pair.mem.writeU32(slot + PACKED_DESC.LEN, NET_HDR_LEN + frame.length);
        pair.mem.writeU16(slot + PACKED_DESC.ID, 0);
        pair.mem.writeU16(slot + PACKED_DESC.FLAGS, PackedDescFlag.AVAIL | PackedDescFlag.USED);
        eventfdWrite(pair.tx.kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        if (pair.rx.driver.hasUsed()) {
          return fail('no RX descriptor used while TX slot 0 only carries the used pattern (AVAIL = USED = 1)', 'an RX descriptor was used: the device transmitted the frame in TX slot 0');
        }
        // Back to neither available nor used (our driver would read the pattern as a used slot),
        // then the loop publishes slot 0 properly.
        pair.mem.writeU16(slot + PACKED_DESC.FLAGS, 0);
        const bad = await pair.loop(ctx, 32, 64);
        if (bad) return fail(bad.expected.map((e) => `after TX slot 0 was published properly: ${e}`), bad.actual);
        return pass();
      } finally {
        pair.close();
      }
    },
  },
  // virtio §2.8.1, §2.8.6: every descriptor of a chain is made available, not only its head; a
  // device that follows NEXT into a slot it never saw flip reads driver-owned memory and takes
  // that slot's stale buffer id (DPDK 22.11 fill_vec_buf_packed checks the head only).
  {
    id: 'backend/data-path/packed-chain-stops-at-unavailable-slot',
    title: 'Packed rings: a chain whose NEXT runs into a slot never made available is not completed with that slot\'s buffer id',
    area: 'data-path', requirements: ['VU-PK-002'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8.1', quote: 'A descriptor is available when its AVAIL flag equals the driver wrap counter and its USED flag does not; the device must not use a descriptor it has not seen made available.' },
    description: 'Loops 8 frames through fresh 64-entry packed rings, then writes, at the TX avail position, a frame descriptor made available with NEXT set, and in the slot after it a descriptor carrying buffer id 61 with the used pattern of the previous lap (not available), and kicks. Through the quiet window the device may wait, drop the chain or stop the ring; it must not write a used descriptor naming id 61 (or any id but the head\'s 60), which only a device that used the unavailable slot as the chain\'s tail can do.',
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        pair.drainUsed();
        const { nextAvail: pos, availWrap: wrap } = pair.tx.driver.position();
        const slot = (i: number): number => pair.tx.driver.descAddr + ((pos + i) % pair.queueSize) * PACKED_DESC.SIZE;
        // The slot after the head wraps to the next lap when the head is the ring's last slot.
        const tailWrap = pos + 1 >= pair.queueSize ? !wrap : wrap;
        const frame = testFrame(778, 64);
        const buf = pair.bufAddr(1, 63);
        const bytes = pair.mem.slice(buf, NET_HDR_LEN + frame.length);
        bytes.fill(0, 0, NET_HDR_LEN);
        bytes.set(frame, NET_HDR_LEN);
        const write = (at: number, addr: number, len: number, id: number): void => {
          pair.mem.writeU64(at + PACKED_DESC.ADDR, BigInt(addr));
          pair.mem.writeU32(at + PACKED_DESC.LEN, len);
          pair.mem.writeU16(at + PACKED_DESC.ID, id);
        };
        write(slot(1), buf, 16, 61);
        pair.mem.writeU16(slot(1) + PACKED_DESC.FLAGS, tailWrap ? 0 : PackedDescFlag.AVAIL | PackedDescFlag.USED);
        write(slot(0), buf, NET_HDR_LEN + frame.length, 60);
        pair.mem.writeU16(slot(0) + PACKED_DESC.FLAGS, PackedDescFlag.NEXT | (wrap ? PackedDescFlag.AVAIL : PackedDescFlag.USED));
        eventfdWrite(pair.tx.kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        const flags = pair.mem.readU16(slot(0) + PACKED_DESC.FLAGS);
        const usedPattern = wrap ? PackedDescFlag.AVAIL | PackedDescFlag.USED : 0;
        if ((flags & (PackedDescFlag.AVAIL | PackedDescFlag.USED)) === usedPattern) {
          const id = pair.mem.readU16(slot(0) + PACKED_DESC.ID);
          if (id !== 60) {
            return fail('the chain is not completed through slot ' + ((pos + 1) % pair.queueSize) + ', which was never made available (at most returned under the head\'s id 60)',
              `slot ${pos} was marked used with buffer id ${id}${id === 61 ? ': the id of the unavailable slot after it, so the device used that slot as the chain\'s tail' : ''} (len ${pair.mem.readU32(slot(0) + PACKED_DESC.LEN)})`);
          }
        }
        return pass();
      } finally {
        pair.close();
      }
    },
  },
  // virtio §2.8.6, §2.8.18: the driver makes a chain available by storing its head's flags
  // last; the device must not start on the chain's other descriptors before that.
  {
    id: 'backend/data-path/packed-chain-waits-for-head',
    title: 'Packed rings: a chain whose tail is flagged available but whose head is not yet is left alone',
    area: 'data-path', requirements: ['VU-PK-006'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8.6', quote: 'The driver makes a chain available by writing the head descriptor\'s flags last; the device must not use the chain before the head is made available.' },
    description: 'Loops frames through fresh packed rings, then adds a TX frame as a two-descriptor chain whose tail flags are stored and head flags withheld, and kicks: through the quiet window the frame must not come back and the chain must stay unused. Then the head is published and kicked: the frame must come back, and 16 more loop.',
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const frame = testFrame(777, 64);
        pair.addTxChain(frame);
        eventfdWrite(pair.tx.kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        if (pair.tx.driver.hasUsed() || pair.popRx().some((r) => frameSeq(r.frame) === 777)) {
          return fail('the chain is not used while its head is not available', 'the device used it (or sent its frame) before the head flags were stored');
        }
        pair.tx.driver.publish();
        eventfdWrite(pair.tx.kickFd);
        const back = await waitUntil(() => pair.popRx().some((r) => frameSeq(r.frame) === 777), ctx.waitMs, ctx.signal);
        if (!back) return fail('the chain is used once its head is published and kicked', `frame 777 did not come back within ${ctx.waitMs} ms`);
        const after = await pair.loop(ctx, 16, 64, 100);
        return after ? fail(after.expected.map((e) => `after the chain: ${e}`), after.actual) : pass();
      } finally {
        pair.close();
      }
    },
  },
  // virtio §2.8.6: "the device only writes out a single used descriptor for the whole chain"
  // and then skips as many slots as the chain had.
  {
    id: 'backend/data-path/packed-chains-mixed-lengths',
    title: 'Packed rings: each chain gets one used descriptor at its first slot, and the next one follows the whole chain',
    area: 'data-path', requirements: ['VU-PK-005'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8.6', quote: 'For a descriptor chain the device writes one used descriptor, with the buffer id, and skips forward by the number of descriptors in the chain.' },
    description: 'Loops 300 frames through 64-entry packed rings, each TX frame as a chain of 1 to 4 descriptors in a repeating pattern (header, then the frame in pieces), so chains straddle the ring\'s end: the driver reads each used descriptor at its chain\'s first slot, so every frame must come back once and intact with no used id out of place.',
    timeoutMs: 30_000,
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const parts = [1, 3, 2, 4, 2, 1, 4, 3];
        return verdictOf(await pair.loop(ctx, 300, 200, 0, (seq) => parts[seq % parts.length]));
      } finally {
        pair.close();
      }
    },
  },
  // virtio §2.8.10: the driver event suppression structure, flags ENABLE (0) and DISABLE (1);
  // the device reads it and never writes it.
  {
    id: 'backend/data-path/packed-driver-event-flags',
    title: 'Packed rings: with the driver event flags at DISABLE no call signal, at ENABLE signals, and the driver area is never written',
    area: 'data-path', requirements: ['VU-PK-009'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8.10', quote: 'The driver event suppression structure is written by the driver and read by the device: flags 1 (disable) means the device must not send used-buffer notifications, flags 0 (enable) that it does.' },
    description: 'Loops frames through packed rings; sets both driver event structures to DISABLE and loops 32 frames: no call-fd signal on either ring and both structures unchanged; then sets TX\'s to ENABLE and loops 8 frames: TX\'s call fd must be signalled. The descriptor-specific mode (EVENT_IDX) is not checked here.',
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        for (const r of pair.rings) r.driver.setInterrupts(false);
        await sleep(20, ctx.signal);
        for (const r of pair.rings) takeSignals(r.callFd);
        const areas = pair.rings.map((r) => pair.mem.read(r.driver.driverEventAddr, 4));
        const off = await pair.loop(ctx, 32, 64, 100);
        if (off) return fail(off.expected.map((e) => `with events disabled: ${e}`), off.actual);
        await sleep(ctx.quietMs, ctx.signal);
        for (const r of pair.rings) {
          const n = takeSignals(r.callFd);
          if (n > 0) return fail(`no call-fd signal on ring ${r.index} while its driver event flags are DISABLE`, `${n} signal(s) over 32 frames`);
          const now = pair.mem.read(r.driver.driverEventAddr, 4);
          if (!now.every((v, i) => v === areas[r.index][i])) return fail(`ring ${r.index}'s driver event structure is left as the driver wrote it`, `it changed from ${[...areas[r.index]].join(',')} to ${[...now].join(',')}`);
        }
        pair.tx.driver.setInterrupts(true);
        const on = await pair.loop(ctx, 8, 64, 200);
        if (on) return fail(on.expected.map((e) => `with TX events enabled: ${e}`), on.actual);
        const signals = await waitSignals(pair.tx.callFd, ctx.waitMs);
        return signals > 0 ? pass() : fail('a call-fd signal on TX after its driver event flags went back to ENABLE', `none within ${ctx.waitMs} ms of 8 TX completions`);
      } finally {
        pair.close();
      }
    },
  },
  // virtio §2.8: packed virtqueues, where RING_PACKED is offered.
  {
    id: 'backend/data-path/packed-ring',
    title: 'Frames loop through packed rings across several wraps',
    area: 'data-path', requirements: ['VU-PK-001', 'VU-PK-003', 'VU-PK-004', 'VU-FEAT-007'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { ...LOOP, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8', quote: 'Both wrap counters start at 1; the device marks a descriptor used by setting AVAIL and USED to its wrap counter and flips the counter after the last slot.' },
    description: 'Negotiates RING_PACKED, sets up packed RX/TX rings of 64 entries (base 0x8000: index 0, wrap counter 1) and loops 1000 frames through them.',
    timeoutMs: 30_000,
    async run(ctx) {
      return verdictOf(await packedLoop(ctx, { count: 1000, size: 128, queueSize: 64 }));
    },
  },
]);

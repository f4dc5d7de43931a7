/**
 * What a packed used descriptor claims (virtio 1.2 §2.8.4; CHECKLIST VU-PK-003, VU-DP-008): the
 * device writes `id` and `len` and sets WRITE iff it wrote data, `len` then being the bytes it
 * wrote. A device that builds the used flags from the driver's own descriptor keeps a WRITE the
 * driver set and, leaving `len` as the driver wrote it, claims to have written a buffer it never
 * touched — DPDK 22.11's packed dequeue does (vhost_shadow_dequeue_single_packed copies the
 * descriptor's flags, vhost_flush_dequeue_shadow_packed stores no len), found by `fuzz datapath`
 * (fuzz/corpus/datapath/dpdk-packed-tx-used-keeps-driver-write-flag.json).
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { PACKED_DESC, PackedDescFlag, VirtioFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { NET_HDR_LEN, testFrame } from '../verify/data-net-loop.js';
import { PackedPair } from '../verify/data-packed-loop.js';
import { fail, pass, verdictOf } from '../verify/ring-verdict.js';
import { sleep } from '../verify/ring-wait.js';

const ID = 60;

/** The case. */
export const packedUsedWriteFlagCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/data-path/packed-used-write-flag-means-written',
    title: 'Packed rings: a used descriptor carries WRITE and a length only for bytes the device wrote, even when the driver marked a TX buffer writable',
    area: 'data-path', requirements: ['VU-PK-003', 'VU-DP-008'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true, features: [VirtioFeature.RING_PACKED] },
    spec: { doc: 'virtio', anchor: '2.8.4', quote: 'The device sets VIRTQ_DESC_F_WRITE in a used descriptor if and only if it wrote data into the buffer; the element length is then the number of bytes written.' },
    description: `Loops 8 frames through 64-entry packed rings, then makes available at the TX avail position one descriptor holding a whole frame but flagged WRITE (a driver error on a transmit queue), buffer id ${ID}, and kicks. Through the quiet window the device may send the frame, drop it or stop the ring; if it marks the slot used with WRITE and a non-zero length, the buffer must show that many bytes written — a used WRITE descriptor over an unchanged buffer claims writes the device never made.`,
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64);
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        pair.drainUsed();
        const { nextAvail: pos, availWrap: wrap } = pair.tx.driver.position();
        const slot = pair.tx.driver.descAddr + pos * PACKED_DESC.SIZE;
        const frame = testFrame(779, 64);
        const len = NET_HDR_LEN + frame.length;
        const buf = pair.bufAddr(1, 63);
        const bytes = pair.mem.slice(buf, len);
        bytes.fill(0, 0, NET_HDR_LEN);
        bytes.set(frame, NET_HDR_LEN);
        const before = bytes.slice();
        pair.mem.writeU64(slot + PACKED_DESC.ADDR, BigInt(buf));
        pair.mem.writeU32(slot + PACKED_DESC.LEN, len);
        pair.mem.writeU16(slot + PACKED_DESC.ID, ID);
        pair.mem.writeU16(slot + PACKED_DESC.FLAGS, PackedDescFlag.WRITE | (wrap ? PackedDescFlag.AVAIL : PackedDescFlag.USED));
        eventfdWrite(pair.tx.kickFd);
        await sleep(ctx.quietMs, ctx.signal);
        const flags = pair.mem.readU16(slot + PACKED_DESC.FLAGS);
        const usedPattern = wrap ? PackedDescFlag.AVAIL | PackedDescFlag.USED : 0;
        if ((flags & (PackedDescFlag.AVAIL | PackedDescFlag.USED)) !== usedPattern) return pass('the device did not mark the WRITE-flagged TX descriptor used');
        const usedLen = pair.mem.readU32(slot + PACKED_DESC.LEN);
        if ((flags & PackedDescFlag.WRITE) === 0 || usedLen === 0) return pass();
        const now = pair.mem.read(buf, len);
        let changed = 0;
        for (let i = 0; i < len; i++) if (now[i] !== before[i]) changed++;
        if (changed === 0) {
          return fail(`slot ${pos} marked used without WRITE, or with WRITE and the length of bytes written (the buffer is unchanged, so 0)`,
            `slot ${pos} marked used with flags 0x${flags.toString(16)} (WRITE) and len ${usedLen}${usedLen === len ? ', the driver\'s own length left in place' : ''}, but none of the buffer's ${len} bytes changed`);
        }
        if (usedLen > len) return fail(`a used length of at most the buffer's ${len} bytes`, `len ${usedLen}`);
        return pass(`the device wrote ${changed} byte(s) into the WRITE-flagged TX buffer and said so`);
      } finally {
        pair.close();
      }
    },
  },
]);

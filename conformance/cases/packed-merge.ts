/**
 * Mergeable RX buffers on packed rings (virtio 1.2 §2.8.9 "Multiple buffers requests" and
 * §5.1.6.4; CHECKLIST VU-PK-010): a frame spread over several buffers is returned as one used
 * descriptor per buffer, and the device marks the first buffer used last, so a driver that sees
 * the first one used finds the whole frame (num_buffers of them) already there. The case watches
 * the RX descriptor ring in a busy poll from outside the back-end's process; a back-end that flips
 * the head first shows it when the poll lands inside its window, so many frames are watched.
 * @module
 */
import { eventfdWrite } from '../../native/index.js';
import { NET_HDR, NetFeature, PACKED_DESC, PackedDescFlag, VirtioFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { PackedPair } from '../verify/data-packed-loop.js';
import { testFrame } from '../verify/data-net-loop.js';
import { fail, pass, verdictOf } from '../verify/ring-verdict.js';

/** RX buffer size: a 1000-byte frame plus its header needs 4 of them. */
const RX_LEN = 256;
const FRAME = 1000;
const FRAMES = 20_000;
const BURST = 8;
const BURST_MS = 2000;

/** The packed mergeable-RX cases. */
export const packedMergeCases: readonly ConformanceCase[] = Object.freeze([
  {
    id: 'backend/data-path/packed-merged-head-used-last',
    title: 'Packed rings with MRG_RXBUF: when a frame\'s first RX buffer is seen used, all num_buffers of them are',
    area: 'data-path', requirements: ['VU-PK-010'], level: 'MUST', role: 'backend', deviceTypes: ['net'],
    needs: { loopingNet: true, features: [VirtioFeature.RING_PACKED, NetFeature.MRG_RXBUF] },
    timeoutMs: 60_000,
    spec: { doc: 'virtio', anchor: '2.8.9', quote: 'When a request uses several buffers, the device makes the first one used last, after the others and the data are in place.' },
    description: `Negotiates RING_PACKED and MRG_RXBUF, posts ${RX_LEN}-byte RX buffers and loops ${FRAMES} frames of ${FRAME} bytes in bursts of ${BURST}. A busy poll of the RX descriptor ring reads, as soon as a frame's first used descriptor shows, its num_buffers and the flags of the following slots: each of those must already be used.`,
    async run(ctx) {
      const pair = await PackedPair.open(ctx, 64, { mergeable: true });
      if (!(pair instanceof PackedPair)) return verdictOf(pair);
      try {
        pair.rxBufferLen = RX_LEN;
        await pair.start();
        const warm = await pair.loop(ctx, 8, 64);
        if (warm) return fail(warm.expected, `precondition: ${warm.actual}`);
        const rx = pair.rx;
        const size = pair.queueSize;
        const flagsAt = (slot: number): number => pair.mem.readU16(rx.driver.descAddr + PACKED_DESC.SIZE * slot + PACKED_DESC.FLAGS);
        const usedAt = (slot: number, wrap: boolean): boolean => {
          const f = flagsAt(slot);
          return ((f & PackedDescFlag.AVAIL) !== 0) === wrap && ((f & PackedDescFlag.USED) !== 0) === wrap;
        };
        let merged = 0;
        let frames = 0;
        let sent = 0;
        while (sent < FRAMES && !ctx.signal?.aborted) {
          pair.drainUsed();
          const n = Math.min(BURST, FRAMES - sent, pair.tx.free.length);
          for (let i = 0; i < n; i++) pair.addTxChain(testFrame(sent + i, FRAME));
          pair.tx.driver.publish();
          eventfdWrite(pair.tx.kickFd);
          sent += n;
          // Watch from the driver's next used slot; the driver pops only after the burst.
          let { nextUsed: p, usedWrap: w } = rx.driver.position();
          const want = frames + n;
          const deadline = Date.now() + BURST_MS;
          while (frames < want && Date.now() < deadline) {
            if (!usedAt(p, w)) continue;
            const id = pair.mem.readU16(rx.driver.descAddr + PACKED_DESC.SIZE * p + PACKED_DESC.ID);
            const b = rx.idToBuf.get(id);
            if (b === undefined) return fail('each used RX descriptor names a buffer the driver made available', `slot ${p} holds id ${id}`);
            const count = pair.mem.readU16(pair.bufAddr(0, b) + NET_HDR.NUM_BUFFERS);
            if (count < 1 || count > size) return fail('num_buffers between 1 and the ring size', `frame ${frames}: num_buffers ${count}`);
            for (let k = 1; k < count; k++) {
              const slot = (p + k) % size;
              const wrap = p + k >= size ? !w : w;
              if (!usedAt(slot, wrap)) return fail('VU-PK-010: the first buffer of a merged frame is marked used last', `frame ${frames}: its first buffer (slot ${p}) was used while buffer ${k + 1} of ${count} (slot ${slot}) was not yet`);
            }
            if (count > 1) merged++;
            frames++;
            if (p + count >= size) w = !w;
            p = (p + count) % size;
          }
          if (frames < want) return fail(`${want} frames back by now`, `${frames} came back (the burst waited ${BURST_MS} ms)`);
          pair.popRx();
        }
        ctx.note(`${frames} frames watched, ${merged} of them merged`);
        if (merged === 0) return fail(`${FRAME}-byte frames spread over ${RX_LEN}-byte RX buffers (num_buffers > 1), so their order can be watched`, `every frame came back in one buffer (num_buffers 1)`);
        return pass();
      } finally {
        pair.close();
      }
    },
  },
]);

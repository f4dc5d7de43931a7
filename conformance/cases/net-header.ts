/**
 * virtio-net "Device Operation" and "Setting Up Receive Buffers": where the frame starts after
 * the header and what `num_buffers` says (CHECKLIST VU-NET-001, VU-NET-002). Driven through net
 * pair 0 of a looping back-end; RX buffers are filled with a canary before they are posted, so a
 * header field the device never wrote shows up as the canary, not as a lucky zero.
 * @module
 */
import { NET_HDR, NetFeature, VirtioFeature, featureMask, hasFeature } from '../../fakes/wire/index.js';
import type { ConformanceCase } from '../model.js';
import { NET_HDR_LEN, PROBE_SEQ, frameDiff, frameSeq, sendFrames, testFrame } from '../verify/data-net-loop.js';
import type { RingRig } from '../verify/ring-rig.js';
import { withRig } from '../verify/ring-rig.js';
import { fail, pass } from '../verify/ring-verdict.js';
import { sleep, waitUntil } from '../verify/ring-wait.js';

const RX = 0;
const TX = 1;
const NET = ['net'] as const;
const CANARY = 0xa5;

/** One RX used element with the bytes the device wrote (up to `len`). */
interface RxElement {
  len: number;
  bytes: Uint8Array;
}

/** Posts every free RX buffer as a chain of `len` bytes, canary-filled. */
function postCanaryRx(rig: RingRig, len: number): void {
  let n = 0;
  while (rig.addBuffer(RX, true, len, (b) => b.fill(CANARY)) >= 0) n++;
  if (n > 0) rig.publish(RX);
}

/** Pops RX used elements in ring order, copying what the device wrote, and re-posts buffers. */
function takeRx(rig: RingRig, len: number): RxElement[] {
  const out: RxElement[] = [];
  for (const e of rig.reclaim(RX)) {
    if (e.buf === undefined) continue;
    out.push({ len: e.len, bytes: rig.bufBytes(RX, e.buf).slice(0, Math.min(e.len, len)) });
  }
  if (out.length > 0) postCanaryRx(rig, len);
  return out;
}

const numBuffers = (hdr: Uint8Array): number => hdr[NET_HDR.NUM_BUFFERS] | (hdr[NET_HDR.NUM_BUFFERS + 1] << 8);

/**
 * Sends a probe frame every 100 ms until one comes back (a back-end may accept the rings before
 * it forwards), then lets stragglers land and drops them. False when none came back in time.
 */
async function warmUpCanary(rig: RingRig, len: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  postCanaryRx(rig, len);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    rig.reclaim(TX);
    if (rig.q(TX).freeBufs.length > 0) sendFrames(rig, TX, [testFrame(PROBE_SEQ, 64)]);
    await waitUntil(() => rig.q(RX).driver.lastUsedIdx !== rig.usedIdx(RX), 100, signal);
    if (takeRx(rig, len).length > 0) {
      await sleep(20, signal);
      takeRx(rig, len);
      return true;
    }
  }
  return false;
}

/** Waits until `count` RX elements arrived (or the bound passed), collecting them in order. */
async function collectRx(rig: RingRig, len: number, count: number, timeoutMs: number, signal?: AbortSignal): Promise<RxElement[]> {
  const got: RxElement[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline && !signal?.aborted) {
    await waitUntil(() => rig.q(RX).driver.lastUsedIdx !== rig.usedIdx(RX), 50, signal);
    got.push(...takeRx(rig, len));
    rig.reclaim(TX);
  }
  return got;
}

/** The net-header cases, in run order. */
export const netHeaderCases: readonly ConformanceCase[] = Object.freeze([
  // "The device MUST use only a single descriptor if VIRTIO_NET_F_MRG_RXBUF was not negotiated"
  // and then sets num_buffers to 1; with VERSION_1 the header is 12 bytes either way.
  {
    id: 'backend/net-header/num-buffers-one-without-mrg-rxbuf',
    title: 'Without MRG_RXBUF every frame has a 12-byte header (VERSION_1) with num_buffers = 1',
    area: 'data-path', requirements: ['VU-NET-002', 'VU-NET-001'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'virtio', anchor: 'Device Operation: Setting Up Receive Buffers', quote: 'If VIRTIO_NET_F_MRG_RXBUF is not negotiated, the device MUST set num_buffers to 1 and use a single buffer per packet; with VIRTIO_F_VERSION_1 the header is struct virtio_net_hdr including num_buffers (12 bytes).' },
    description: 'Negotiates VERSION_1 without MRG_RXBUF, fills every RX buffer with 0xa5 before posting it and loops 16 frames of 64 bytes: each must land at byte 12 of one RX buffer, with used.len 12 + 64 and num_buffers (header bytes 10..11) equal to 1. The legacy half of VU-NET-001 is the next case.',
    async run(ctx) {
      return withRig(ctx, {}, async (rig) => {
        if (hasFeature(rig.session.features, NetFeature.MRG_RXBUF)) return fail('MRG_RXBUF not acked', 'MRG_RXBUF was acked');
        await rig.startAll();
        const len = rig.bufferSize;
        if (!(await warmUpCanary(rig, len, ctx.waitMs, ctx.signal))) {
          return fail('a probe frame sent on TX ring 1 comes back on RX ring 0', `none came back within ${ctx.waitMs} ms`);
        }
        const frames = Array.from({ length: 16 }, (_, i) => testFrame(i, 64));
        sendFrames(rig, TX, frames);
        const got = (await collectRx(rig, len, frames.length, ctx.waitMs, ctx.signal));
        const problems: string[] = [];
        const seen = new Set<number>();
        for (const e of got) {
          const seq = frameSeq(e.bytes.subarray(NET_HDR_LEN));
          if (seq === PROBE_SEQ) continue;
          if (seq === undefined || seq >= frames.length) { problems.push(`an RX element of used.len ${e.len} holds no frame we sent at byte ${NET_HDR_LEN}`); continue; }
          seen.add(seq);
          const nb = numBuffers(e.bytes);
          if (nb !== 1) problems.push(`frame ${seq}: num_buffers ${nb === (CANARY << 8 | CANARY) ? '0xa5a5 (never written)' : nb}`);
          if (e.len !== NET_HDR_LEN + 64) problems.push(`frame ${seq}: used.len ${e.len}`);
          const d = frameDiff(frames[seq], e.bytes.subarray(NET_HDR_LEN));
          if (d) problems.push(`frame ${seq}: ${d}`);
        }
        if (problems.length > 0) return fail('num_buffers 1, used.len 76 and the frame at byte 12 of each RX buffer', problems.slice(0, 3).join('; '));
        if (seen.size < frames.length) return fail(`${frames.length} frames come back`, `${seen.size} came back within ${ctx.waitMs} ms`);
        return pass();
      });
    },
  },
  // "The device MUST set num_buffers to the number of descriptors used to hold the incoming
  // packet" when MRG_RXBUF lets a frame span several RX buffers.
  {
    id: 'backend/net-header/num-buffers-counts-merged-buffers',
    title: 'With MRG_RXBUF a frame larger than one RX buffer spans several, and num_buffers counts them',
    area: 'data-path', requirements: ['VU-NET-002', 'VU-FEAT-007'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { features: [NetFeature.MRG_RXBUF], loopingNet: true },
    spec: { doc: 'virtio', anchor: 'Device Operation: Processing of Incoming Packets', quote: 'If VIRTIO_NET_F_MRG_RXBUF is negotiated, the device MUST set num_buffers to the number of descriptors used to hold the incoming packet.' },
    description: 'Negotiates MRG_RXBUF, posts canary-filled RX buffers of 256 bytes and loops 4 frames of 1000 bytes: each must come back as num_buffers consecutive used elements, none longer than 256 bytes, whose bytes joined are the 12-byte header and the frame, with num_buffers in the first header equal to the number of elements.',
    async run(ctx) {
      return withRig(ctx, { features: featureMask(NetFeature.MRG_RXBUF) }, async (rig) => {
        if (!hasFeature(rig.session.features, NetFeature.MRG_RXBUF)) return fail('MRG_RXBUF acked', 'MRG_RXBUF was not acked');
        await rig.startAll();
        const len = 256;
        const size = 1000;
        if (!(await warmUpCanary(rig, len, ctx.waitMs, ctx.signal))) {
          return fail('a probe frame sent on TX ring 1 comes back on RX ring 0', `none came back within ${ctx.waitMs} ms`);
        }
        const frames = Array.from({ length: 4 }, (_, i) => testFrame(i, size));
        sendFrames(rig, TX, frames);
        const need = Math.ceil((NET_HDR_LEN + size) / len);
        const got = await collectRx(rig, len, frames.length * need, ctx.waitMs, ctx.signal);
        const problems: string[] = [];
        const seen = new Set<number>();
        for (let i = 0; i < got.length && problems.length === 0;) {
          const nb = numBuffers(got[i].bytes);
          if (nb === 0 || nb > got.length - i) {
            problems.push(`used element ${i}: num_buffers ${nb === (CANARY << 8 | CANARY) ? '0xa5a5 (never written)' : nb} but ${got.length - i} element(s) left`);
            break;
          }
          const parts = got.slice(i, i + nb);
          i += nb;
          const tooLong = parts.find((p) => p.len > len);
          if (tooLong) { problems.push(`a used.len of ${tooLong.len} for a ${len}-byte buffer`); break; }
          const joined = new Uint8Array(parts.reduce((n, p) => n + p.len, 0));
          let at = 0;
          for (const p of parts) { joined.set(p.bytes, at); at += p.len; }
          const frame = joined.subarray(NET_HDR_LEN);
          const seq = frameSeq(frame);
          if (seq === PROBE_SEQ) continue;
          if (seq === undefined || seq >= frames.length) { problems.push(`${nb} element(s) joined hold no frame we sent`); break; }
          seen.add(seq);
          if (frame.length !== size) problems.push(`frame ${seq}: ${nb} element(s) hold ${frame.length} frame bytes (want ${size})`);
          else {
            const d = frameDiff(frames[seq], frame);
            if (d) problems.push(`frame ${seq} joined from ${nb} element(s): ${d}`);
          }
        }
        if (problems.length > 0) return fail(`each ${size}-byte frame in num_buffers consecutive RX buffers of ${len} bytes, joined intact`, problems.slice(0, 3).join('; '));
        if (seen.size < frames.length) return fail(`${frames.length} frames come back`, `${seen.size} came back within ${ctx.waitMs} ms (${got.length} RX elements)`);
        return pass();
      });
    },
  },
  // "The legacy driver only presented num_buffers in the struct virtio_net_hdr when
  // VIRTIO_NET_F_MRG_RXBUF was negotiated; without that feature the structure was 2 bytes shorter."
  {
    id: 'backend/net-header/legacy-header-is-10-bytes',
    title: 'Without VERSION_1 and MRG_RXBUF the net header is 10 bytes, on TX and on RX',
    area: 'data-path', requirements: ['VU-NET-001'], level: 'MUST', role: 'backend', deviceTypes: NET,
    needs: { loopingNet: true },
    spec: { doc: 'virtio', anchor: 'Device Operation: Legacy Interface', quote: 'Without VIRTIO_F_VERSION_1 and without VIRTIO_NET_F_MRG_RXBUF the header has no num_buffers field and is 10 bytes long.' },
    description: 'Negotiates as a legacy driver (neither VERSION_1 nor MRG_RXBUF; little-endian, as this host is), sends 16 frames of 64 bytes behind a 10-byte header into canary-filled RX buffers: each must come back at byte 10 with used.len 10 + 64, the two bytes after the header holding frame data, not a num_buffers field.',
    async run(ctx) {
      return withRig(ctx, { version1: false }, async (rig) => {
        const f = rig.session.features;
        if (hasFeature(f, VirtioFeature.VERSION_1) || hasFeature(f, NetFeature.MRG_RXBUF)) return fail('neither VERSION_1 nor MRG_RXBUF acked', 'one of them was acked');
        await rig.startAll();
        const hdr = NET_HDR.SIZE_LEGACY;
        const len = rig.bufferSize;
        const sendLegacy = (frames: readonly Uint8Array[]): void => {
          for (const fr of frames) {
            const head = rig.addBuffer(TX, false, hdr + fr.length, (b) => { b.fill(0, 0, hdr); b.set(fr, hdr); });
            if (head < 0) throw new Error('TX ring has no free buffer');
          }
          rig.publish(TX);
        };
        postCanaryRx(rig, len);
        const frames = Array.from({ length: 16 }, (_, i) => testFrame(i, 64));
        // Warm-up with probes in the legacy layout, then the counted frames.
        let warm = false;
        const deadline = Date.now() + ctx.waitMs;
        while (!warm && Date.now() < deadline && !ctx.signal.aborted) {
          rig.reclaim(TX);
          if (rig.q(TX).freeBufs.length > 0) sendLegacy([testFrame(PROBE_SEQ, 64)]);
          await waitUntil(() => rig.q(RX).driver.lastUsedIdx !== rig.usedIdx(RX), 100, ctx.signal);
          warm = takeRx(rig, len).length > 0;
        }
        if (!warm) return fail('a probe frame behind a 10-byte header comes back', `none came back within ${ctx.waitMs} ms`);
        await sleep(20, ctx.signal);
        takeRx(rig, len);
        rig.reclaim(TX);
        sendLegacy(frames);
        const got = await collectRx(rig, len, frames.length, ctx.waitMs, ctx.signal);
        const problems: string[] = [];
        const seen = new Set<number>();
        for (const e of got) {
          const at10 = frameSeq(e.bytes.subarray(hdr));
          if (at10 === PROBE_SEQ) continue;
          if (at10 === undefined || at10 >= frames.length) {
            const at12 = frameSeq(e.bytes.subarray(NET_HDR.SIZE_V1));
            problems.push(at12 !== undefined ? `frame ${at12} starts at byte 12 (a 12-byte header)` : `an RX element of used.len ${e.len} holds no frame we sent at byte ${hdr}`);
            continue;
          }
          seen.add(at10);
          if (e.len !== hdr + 64) problems.push(`frame ${at10}: used.len ${e.len} (want ${hdr + 64})`);
          const d = frameDiff(frames[at10], e.bytes.subarray(hdr));
          if (d) problems.push(`frame ${at10}: ${d}`);
        }
        if (problems.length > 0) return fail('each frame at byte 10 of its RX buffer, used.len 74', problems.slice(0, 3).join('; '));
        if (seen.size < frames.length) return fail(`${frames.length} frames come back`, `${seen.size} came back within ${ctx.waitMs} ms`);
        return pass();
      });
    },
  },
]);

/**
 * Drives numbered, checksummed frames through a running net device: TX on queue 2k+1, RX on
 * queue 2k of each pair, against a back-end that loops TX into RX (DPDK testpmd `macswap`, the
 * reference back-end's loopback). Counts sent, received, lost, duplicated, reordered and
 * corrupted frames, and the lifetime violations the rings' trackers saw.
 *
 * The loop is synchronous and allocation-free per packet (typed arrays over the shared rings),
 * yielding to the event loop every few milliseconds so time-outs and progress still run. Flow
 * control keeps the frames in flight below the RX buffers posted, so a correct looping back-end
 * never has to drop one.
 * @module
 */
import { eventfdWrite } from '../../../native/index.js';
import type { NetDevice, NetQueuePair } from '../net-device.js';
import { MIN_FRAME, prepareFrame, stampFrame, verifyFrame } from './frame.js';

/** What a traffic run should do. */
export interface TrafficOptions {
  /** Frames to send in total (spread over the queue pairs). */
  packets: number;
  /** Frame size in bytes, without the virtio-net header (e.g. 64 or 1518). */
  size: number;
  /** Frames per burst (default 32). */
  burst?: number;
  /** Give up waiting for the rest after this long without progress (default 2000 ms). */
  idleTimeoutMs?: number;
  /**
   * Before counting, send one probe frame at a time until one comes back on every pair, for at
   * most this long (default 10 000 ms). A back-end may accept the rings before it forwards (DPDK
   * in client mode starts forwarding after the device is ready); frames sent then are dropped and
   * must not count as lost. 0 skips the warm-up.
   */
  warmUpTimeoutMs?: number;
  /** Called about every 200 ms with the counters so far. */
  onProgress?: (r: TrafficResult) => void;
}

/** A lifetime or data-path rule broken during the run. */
export interface TrafficViolation {
  rule: string;
  detail: string;
}

/** The outcome of a traffic run (the `--json` shape of `vhostlab traffic`). */
export interface TrafficResult {
  sent: number;
  received: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  violations: TrafficViolation[];
  pps: number;
  durationMs: number;
}

const YIELD_EVERY_MS = 5;
/** Sequence number of warm-up frames; never part of the counted stream. */
const WARMUP_SEQ = 0xffffffff;
/** Error of a warm-up that saw nothing come back. */
export class TrafficWarmUpError extends Error {
  override readonly name = 'TrafficWarmUpError';
}

/** Runs traffic through `device` and returns the counters. */
export async function runTraffic(device: NetDevice, options: TrafficOptions): Promise<TrafficResult> {
  if (!Number.isInteger(options.packets) || options.packets < 0) throw new RangeError(`packets must be a whole number ≥ 0, got ${options.packets}`);
  if (!Number.isInteger(options.size) || options.size < MIN_FRAME || options.size > device.maxFrame) {
    throw new RangeError(`size must be between ${MIN_FRAME} and ${device.maxFrame} bytes, got ${options.size}`);
  }
  const burst = options.burst ?? 32;
  const idleTimeoutMs = options.idleTimeoutMs ?? 2000;
  const total = options.packets;
  const size = options.size;
  const hdr = device.netHeaderSize;

  // Received-sequence bitmap: duplicates are frames whose bit is already set.
  const seen = new Uint8Array((total >>> 3) + 1);
  const pairs = trafficState(device, hdr);
  for (const p of pairs) p.size = size;
  const r: TrafficResult = { sent: 0, received: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, violations: [], pps: 0, durationMs: 0 };

  await warmUp(pairs, options.warmUpTimeoutMs ?? 10_000, size, hdr);

  const start = performance.now();
  let lastProgressAt = start;
  let lastReportAt = start;
  let lastReceived = -1;
  let maxSeq = -1;
  let nextSeq = 0;

  for (;;) {
    const sliceEnd = performance.now() + YIELD_EVERY_MS;
    do {
      for (let q = 0; q < pairs.length; q++) {
        const p = pairs[q];
        // Receive first: it frees RX credit for the next burst.
        const rx = p.rx;
        let got = 0;
        while (rx.popUsedInto(p.usedOut)) {
          got++;
          p.inTransit--;
          const id = p.usedOut.id;
          const buf = p.rxHeadToBuf[id];
          const frameLen = p.usedOut.len - hdr;
          const byteBase = buf * p.rxStride + hdr;
          const seq = frameLen === size
            ? verifyFrame(p.rxBytes, byteBase, p.rxWords, (byteBase + 12) >>> 2, frameLen)
            : -1;
          if (seq === WARMUP_SEQ) {
            // A late warm-up frame: not part of the counted stream.
          } else if (seq < 0 || seq >= nextSeq) {
            r.corrupted++;
          } else {
            const bit = 1 << (seq & 7);
            const byte = seq >>> 3;
            if (seen[byte] & bit) r.duplicated++;
            else {
              seen[byte] |= bit;
              r.received++;
              if (seq < maxSeq) r.reordered++;
              else maxSeq = seq;
            }
          }
          p.repostRx(buf);
        }
        if (got > 0) p.publishRx();
        // Reclaim TX buffers the back-end has consumed.
        p.reclaimTx();
        // Send a burst, bounded by free TX descriptors and by RX credit.
        const credit = p.queueSize - p.inTransit;
        let n = Math.min(burst, total - nextSeq, credit, p.txFreeBufs);
        if (n > 0) {
          for (; n > 0; n--) p.sendOne(nextSeq++);
          p.publishTx();
        }
      }
    } while (performance.now() < sliceEnd);

    const now = performance.now();
    r.sent = nextSeq;
    if (r.received + r.duplicated + r.corrupted !== lastReceived) {
      lastReceived = r.received + r.duplicated + r.corrupted;
      lastProgressAt = now;
    }
    if (options.onProgress && now - lastReportAt >= 200) {
      lastReportAt = now;
      options.onProgress(finish(r, pairs, start, now, total, false));
    }
    if (r.received + r.corrupted >= total && nextSeq >= total) break;
    if (now - lastProgressAt > idleTimeoutMs) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // The rate is measured up to the last frame that came back: a trailing idle wait for frames
  // that never return says nothing about speed (they are counted as lost).
  return finish(r, pairs, start, lastProgressAt, total, true);
}

/** Sends single probe frames on each pair until one returns on every pair. */
async function warmUp(pairs: PairState[], timeoutMs: number, size: number, hdr: number): Promise<void> {
  if (timeoutMs <= 0) return;
  const deadline = performance.now() + timeoutMs;
  const ready = pairs.map(() => false);
  let probesSent = 0;
  let probesBack = 0;
  let lastBackAt = performance.now();
  // Probes queued while the back-end was not forwarding yet all come back once it starts; wait
  // for them (or for 200 ms of silence) so they do not compete with counted frames for RX buffers.
  while (ready.includes(false) || (probesBack < probesSent && performance.now() - lastBackAt < 200)) {
    for (let q = 0; q < pairs.length; q++) {
      const p = pairs[q];
      p.reclaimTx();
      if (!ready[q] && p.inTransit === 0 && p.txFreeBufs > 0) {
        p.sendOne(WARMUP_SEQ);
        p.publishTx();
        probesSent++;
      }
      let got = 0;
      while (p.rx.popUsedInto(p.usedOut)) {
        got++;
        const buf = p.rxHeadToBuf[p.usedOut.id];
        const byteBase = buf * p.rxStride + hdr;
        const seq = p.usedOut.len - hdr === size ? verifyFrame(p.rxBytes, byteBase, p.rxWords, (byteBase + 12) >>> 2, size) : -1;
        if (seq === WARMUP_SEQ) {
          ready[q] = true;
          probesBack++;
          lastBackAt = performance.now();
        }
        p.repostRx(buf);
      }
      if (got > 0) p.publishRx();
    }
    if (ready.includes(false) && performance.now() > deadline) {
      throw new TrafficWarmUpError(`no frame came back within ${timeoutMs} ms (${probesSent} probe frames sent): the back-end does not loop frames back, or never started forwarding`);
    }
    // Probe at most every 20 ms; a probe lost while the back-end was not forwarding yet is re-sent.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const p of pairs) p.inTransit = 0;
  }
  for (const p of pairs) p.inTransit = 0;
}

function finish(r: TrafficResult, pairs: PairState[], start: number, now: number, total: number, final: boolean): TrafficResult {
  const durationMs = now - start;
  const violations = final ? pairs.flatMap((p) => p.violations()) : r.violations;
  return {
    ...r,
    lost: final ? Math.max(0, total - r.received - r.corrupted) : 0,
    violations,
    durationMs: Math.round(durationMs),
    pps: durationMs > 0 ? Math.round((r.received * 1000) / durationMs) : 0,
  };
}

/**
 * The traffic state of a device, kept across runs so a device can carry several runs (the RX
 * buffers stay posted, TX buffers in flight stay owned by the device).
 */
const states = new WeakMap<NetDevice, PairState[]>();
function trafficState(device: NetDevice, hdr: number): PairState[] {
  let pairs = states.get(device);
  if (!pairs) {
    pairs = device.pairs.map((p) => new PairState(p, hdr));
    for (const p of pairs) p.postAllRx();
    states.set(device, pairs);
  }
  return pairs;
}

/** Per queue pair: buffers, head↔buffer maps and the hot-loop helpers. */
class PairState {
  readonly rx;
  readonly tx;
  readonly usedOut = { id: 0, len: 0 };
  readonly rxHeadToBuf: Int32Array;
  readonly txHeadToBuf: Int32Array;
  readonly rxBytes: Uint8Array;
  readonly rxWords: Uint32Array;
  readonly rxStride: number;
  /** Frames sent on this pair whose RX copy has not come back; each will need an RX buffer. */
  inTransit = 0;
  readonly queueSize: number;
  private readonly txWords: Uint32Array;
  private readonly txStride: number;
  private readonly txBaseSum: Uint32Array;
  private readonly txFree: Int32Array;
  private txFreeTop: number;
  private readonly pair: NetQueuePair;

  /** Frame size of the current run. */
  size = 0;
  /** Frame size each TX buffer was prepared for (0: not yet). */
  private readonly preparedSize: Int32Array;
  private readonly txBytes: Uint8Array;

  constructor(pair: NetQueuePair, private readonly hdr: number) {
    this.pair = pair;
    this.rx = pair.rx.driver;
    this.tx = pair.tx.driver;
    const qsize = pair.queueSize;
    this.queueSize = qsize;
    this.rxHeadToBuf = new Int32Array(qsize);
    this.txHeadToBuf = new Int32Array(qsize);
    this.rxStride = pair.rxBuffers.stride;
    this.rxBytes = pair.rxBuffers.bytes;
    this.rxWords = new Uint32Array(this.rxBytes.buffer, this.rxBytes.byteOffset, this.rxBytes.byteLength >>> 2);
    this.txStride = pair.txBuffers.stride;
    const txBytes = pair.txBuffers.bytes;
    this.txBytes = txBytes;
    this.preparedSize = new Int32Array(qsize);
    this.txWords = new Uint32Array(txBytes.buffer, txBytes.byteOffset, txBytes.byteLength >>> 2);
    this.txBaseSum = new Uint32Array(qsize);
    this.txFree = new Int32Array(qsize);
    for (let b = 0; b < qsize; b++) this.txFree[b] = qsize - 1 - b;
    this.txFreeTop = qsize;
  }

  /** Writes the constant part of TX buffer `buf` for the current frame size. */
  private prepareTx(buf: number): void {
    const off = buf * this.txStride;
    this.txBytes.fill(0, off, off + this.hdr); // virtio-net header: no offloads, num_buffers 0
    this.txBaseSum[buf] = prepareFrame(this.txBytes.subarray(off + this.hdr, off + this.hdr + this.size), buf);
    this.preparedSize[buf] = this.size;
  }

  get txFreeBufs(): number {
    return this.txFreeTop;
  }

  postAllRx(): void {
    const n = this.pair.queueSize;
    for (let b = 0; b < n; b++) this.repostRx(b);
    this.publishRx();
  }

  repostRx(buf: number): void {
    const head = this.rx.addSingle(this.pair.rxBuffers.addr + buf * this.rxStride, this.rxStride, true);
    if (head < 0) throw new Error('RX ring has no free descriptor for a buffer that was just returned');
    this.rxHeadToBuf[head] = buf;
  }

  publishRx(): void {
    this.rx.publish();
    if (this.rx.needsKick()) eventfdWrite(this.pair.rx.kickFd);
  }

  sendOne(seq: number): void {
    const buf = this.txFree[--this.txFreeTop];
    if (this.preparedSize[buf] !== this.size) this.prepareTx(buf);
    const off = buf * this.txStride + this.hdr;
    stampFrame(this.txWords, (off + 12) >>> 2, seq, this.txBaseSum[buf]);
    const head = this.tx.addSingle(this.pair.txBuffers.addr + buf * this.txStride, this.hdr + this.size, false);
    this.txHeadToBuf[head] = buf;
    this.inTransit++;
  }

  publishTx(): void {
    this.tx.publish();
    if (this.tx.needsKick()) eventfdWrite(this.pair.tx.kickFd);
  }

  reclaimTx(): void {
    const out = this.usedOut;
    while (this.tx.popUsedInto(out)) {
      this.txFree[this.txFreeTop++] = this.txHeadToBuf[out.id];
    }
  }

  violations(): { rule: string; detail: string }[] {
    return [...this.rx.tracker.violations, ...this.tx.tracker.violations].map((v) => ({ rule: v.rule, detail: v.detail }));
  }
}


/**
 * Frames through a looping net back-end (DPDK testpmd macswap, the reference back-end's
 * loopback): TX on ring 2k+1, RX on ring 2k. A frame carries a sequence number and a pattern
 * that depends on it, so every returned frame can be matched to the one sent and compared byte
 * by byte (the MAC addresses may come back swapped).
 * @module
 */
import { NET_HDR, netRxQueue, netTxQueue } from '../../fakes/wire/index.js';
import type { RingRig } from './ring-rig.js';
import { mismatch, type CheckResult } from './ring-verdict.js';
import { sleep, waitUntil } from './ring-wait.js';

/** virtio-net header length with VERSION_1 (VU-NET-001). */
export const NET_HDR_LEN = NET_HDR.SIZE_V1;
/** Sequence number of warm-up probes; never part of a counted run. */
export const PROBE_SEQ = 0xffffffff;
const DST = [0x02, 0x76, 0x6c, 0, 0, 2];
const SRC = [0x02, 0x76, 0x6c, 0, 0, 1];

/** A test frame of `size` bytes (≥ 24) carrying `seq`. */
export function testFrame(seq: number, size: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set(DST, 0);
  f.set(SRC, 6);
  f[12] = 0x88; f[13] = 0xb5;
  new DataView(f.buffer).setUint32(14, seq >>> 0, true);
  for (let i = 18; i < size; i++) f[i] = (i * 13 + seq * 7 + 0x3c) & 0xff;
  return f;
}

/** The sequence number of a received frame, or undefined when it is not one of ours. */
export function frameSeq(f: Uint8Array): number | undefined {
  if (f.length < 18 || f[12] !== 0x88 || f[13] !== 0xb5) return undefined;
  return new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(14, true);
}

/** Where `got` differs from `sent` (MACs may be swapped by the back-end), or undefined. */
export function frameDiff(sent: Uint8Array, got: Uint8Array): string | undefined {
  if (got.length !== sent.length) return `length ${got.length} (sent ${sent.length})`;
  const same = (a: number, b: number): boolean => sent.subarray(a, a + 6).every((v, i) => v === got[b + i]);
  if (!((same(0, 0) && same(6, 6)) || (same(0, 6) && same(6, 0)))) return 'MAC addresses neither kept nor swapped';
  for (let i = 12; i < sent.length; i++) {
    if (sent[i] !== got[i]) return `byte ${i} is 0x${got[i].toString(16)} (sent 0x${sent[i].toString(16)})`;
  }
  return undefined;
}

/** Posts every free buffer of RX ring `rx` (writable, whole buffer) and publishes. */
export function postRx(rig: RingRig, rx: number): number {
  let n = 0;
  while (rig.addBuffer(rx, true) >= 0) n++;
  if (n > 0) rig.publish(rx);
  return n;
}

/** Queues `frames` on TX ring `tx` (12-byte zero header + frame per buffer) and publishes; returns heads. */
export function sendFrames(rig: RingRig, tx: number, frames: readonly Uint8Array[], publish = true): number[] {
  const heads: number[] = [];
  for (const f of frames) {
    const head = rig.addBuffer(tx, false, NET_HDR_LEN + f.length, (b) => {
      b.fill(0, 0, NET_HDR_LEN);
      b.set(f, NET_HDR_LEN);
    });
    if (head < 0) throw new Error(`TX ring ${tx} has no free buffer`);
    heads.push(head);
  }
  if (publish) rig.publish(tx);
  return heads;
}

/** A frame that came back on an RX ring. */
export interface Received {
  head: number;
  len: number;
  frame: Uint8Array;
}

/** Pops RX used elements, copies out the frames, and re-posts the buffers. */
export function drainRx(rig: RingRig, rx: number): Received[] {
  const out: Received[] = [];
  for (const e of rig.reclaim(rx)) {
    if (e.buf === undefined) continue;
    const bytes = rig.bufBytes(rx, e.buf);
    const flen = Math.max(0, Math.min(e.len, bytes.length) - NET_HDR_LEN);
    out.push({ head: e.id, len: e.len, frame: bytes.slice(NET_HDR_LEN, NET_HDR_LEN + flen) });
  }
  if (out.length > 0) postRx(rig, rx);
  return out;
}

/**
 * Waits until every frame of `sent` (sequence number → frame) came back on RX ring `rx`, reading
 * used elements without re-posting RX buffers (re-posting could kick): for cases that must show
 * the device used buffers posted earlier with no kick since. TX ring `tx` is reclaimed as it goes.
 * Returns how many came back and the problems seen (a repeat, a damaged frame).
 */
export async function awaitFramesNoRepost(
  rig: RingRig, rx: number, tx: number, sent: ReadonlyMap<number, Uint8Array>, timeoutMs: number, signal?: AbortSignal,
): Promise<{ back: number; problems: string[] }> {
  const got = new Set<number>();
  const problems: string[] = [];
  await waitUntil(() => {
    for (const e of rig.reclaim(rx)) {
      if (e.buf === undefined) continue;
      const f = rig.bufBytes(rx, e.buf).slice(NET_HDR_LEN, Math.max(NET_HDR_LEN, e.len));
      const seq = frameSeq(f);
      const s = seq === undefined ? undefined : sent.get(seq);
      if (seq === undefined || s === undefined) continue;
      if (got.has(seq)) problems.push(`frame ${seq} came back twice`);
      got.add(seq);
      const d = frameDiff(s, f);
      if (d) problems.push(`frame ${seq}: ${d}`);
    }
    rig.reclaim(tx);
    return got.size === sent.size;
  }, timeoutMs, signal);
  return { back: got.size, problems };
}

/**
 * Like {@link warmUp}, but without re-posting RX buffers (so without RX kicks): sends one probe
 * frame on TX at a time, at most `maxProbes`, until one lands in an RX buffer already posted. A
 * back-end may take TX before its forwarding path is up (DPDK's port comes up after the device).
 */
export async function warmUpNoRepost(rig: RingRig, rx: number, tx: number, timeoutMs: number, signal?: AbortSignal, maxProbes = 32): Promise<boolean> {
  const probe = testFrame(PROBE_SEQ, 64);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < maxProbes && Date.now() < deadline && !signal?.aborted; i++) {
    rig.reclaim(tx);
    if (rig.q(tx).freeBufs.length > 0) sendFrames(rig, tx, [probe]);
    if ((await awaitFramesNoRepost(rig, rx, tx, new Map([[PROBE_SEQ, probe]]), Math.min(150, Math.max(1, deadline - Date.now())), signal)).back > 0) return true;
  }
  return false;
}

/**
 * Sends probe frames on `pair` until one comes back (a back-end may accept the rings before it
 * forwards). Returns false when none did within `timeoutMs`.
 */
export async function warmUp(rig: RingRig, pair: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const rx = netRxQueue(pair);
  const tx = netTxQueue(pair);
  postRx(rig, rx);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    rig.reclaim(tx);
    if (rig.q(tx).freeBufs.length > 0) sendFrames(rig, tx, [testFrame(PROBE_SEQ, 64)]);
    const ok = await waitUntil(() => rig.q(rx).driver.lastUsedIdx !== rig.usedIdx(rx), 100, signal);
    if (ok && drainRx(rig, rx).some((r) => frameSeq(r.frame) === PROBE_SEQ)) {
      // Let stragglers of earlier probes arrive, then drop them.
      await sleep(20);
      drainRx(rig, rx);
      return true;
    }
  }
  return false;
}

/** Options of {@link loopCheck}. */
export interface LoopOptions {
  count: number;
  size: number;
  /** Bound for the frames to come back. */
  timeoutMs: number;
  /** First sequence number (default 0). */
  firstSeq?: number;
  /** Skip the warm-up (the pair already forwarded). */
  warm?: boolean;
  signal?: AbortSignal;
}

/**
 * Sends `count` frames through `pair` and checks that each comes back exactly once, intact,
 * and that every TX chain is returned. Returns a mismatch naming the first problem.
 */
export async function loopCheck(rig: RingRig, pair: number, o: LoopOptions): Promise<CheckResult> {
  const rx = netRxQueue(pair);
  const tx = netTxQueue(pair);
  if (!o.warm && !(await warmUp(rig, pair, o.timeoutMs, o.signal))) {
    return mismatch(`frames sent on TX ring ${tx} come back on RX ring ${rx}`, `no probe frame came back within ${o.timeoutMs} ms (TX used.idx ${rig.usedIdx(tx)}, RX used.idx ${rig.usedIdx(rx)})`);
  }
  const first = o.firstSeq ?? 0;
  const sent = new Map<number, Uint8Array>();
  const got = new Set<number>();
  let next = first;
  const end = first + o.count;
  let deadline = Date.now() + o.timeoutMs;
  const problems: string[] = [];
  while ((got.size < o.count || next < end) && Date.now() < deadline && !o.signal?.aborted) {
    rig.reclaim(tx);
    const room = Math.min(rig.q(tx).freeBufs.length, rig.q(rx).freeBufs.length + rig.q(rx).driver.inFlight - (next - first - got.size), end - next);
    if (room > 0) {
      const frames = [];
      for (let i = 0; i < room; i++, next++) {
        const f = testFrame(next, o.size);
        sent.set(next, f);
        frames.push(f);
      }
      sendFrames(rig, tx, frames);
    }
    await sleep(1);
    for (const r of drainRx(rig, rx)) {
      const seq = frameSeq(r.frame);
      if (seq === PROBE_SEQ) continue;
      const s = seq === undefined ? undefined : sent.get(seq);
      if (seq === undefined || s === undefined) { problems.push(`RX head ${r.head} (used.len ${r.len}) holds no frame we sent`); continue; }
      if (got.has(seq)) { problems.push(`frame ${seq} came back twice`); continue; }
      got.add(seq);
      deadline = Math.max(deadline, Date.now() + 1000);
      const d = frameDiff(s, r.frame);
      if (d) problems.push(`frame ${seq}: ${d}`);
      if (r.len !== NET_HDR_LEN + o.size) problems.push(`RX used.len ${r.len} for a ${o.size}-byte frame (want ${NET_HDR_LEN + o.size})`);
    }
    if (problems.length > 0) break;
  }
  await waitUntil(() => { rig.reclaim(tx); return rig.q(tx).driver.inFlight === 0; }, 1000, o.signal);
  if (problems.length > 0) return mismatch(`${o.count} frames of ${o.size} bytes come back intact, each once`, problems.slice(0, 3).join('; '));
  if (got.size < o.count) {
    return mismatch(`${o.count} frames of ${o.size} bytes come back on RX ring ${rx}`, `${got.size} of ${o.count} came back within the wait bound (sent ${next - first}; TX used.idx ${rig.usedIdx(tx)}, RX used.idx ${rig.usedIdx(rx)})`);
  }
  if (rig.q(tx).driver.inFlight !== 0) return mismatch(`every TX chain of ring ${tx} is returned`, `${rig.q(tx).driver.inFlight} TX chains still owned by the device`);
  return undefined;
}

/** Lifetime violations the rig's trackers recorded, as a mismatch. */
export function trackerCheck(rig: RingRig, rings: readonly number[] = [...rig.queues.keys()]): CheckResult {
  for (const index of rings) {
    const v = rig.q(index).driver.tracker.violations;
    if (v.length > 0) return mismatch(`no descriptor lifetime violation on ring ${index}`, `${v[0].rule}: ${v[0].detail}${v.length > 1 ? ` (+${v.length - 1} more)` : ''}`);
  }
  return undefined;
}

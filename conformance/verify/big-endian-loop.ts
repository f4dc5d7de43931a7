/**
 * Net loopback through a legacy big-endian pair of rings (CHECKLIST VU-FEAT-008): frames behind
 * the 10-byte legacy header go out on TX and must come back on RX, with every ring field the
 * device reads or writes in big-endian order. A back-end that keeps reading little-endian sees
 * `avail->idx` 1 as 256, more than the ring holds; one that writes little-endian leaves a used
 * index that reads 256 where 1 was meant. The failure text says which.
 * @module
 */
import { NET_HDR } from '../../fakes/wire/index.js';
import { BigEndianRing } from './big-endian-ring.js';
import { PROBE_SEQ, frameDiff, frameSeq, testFrame } from './data-net-loop.js';
import type { RingRig } from './ring-rig.js';
import { mismatch, type CheckResult } from './ring-verdict.js';
import { waitUntil } from './ring-wait.js';

const HDR = NET_HDR.SIZE_LEGACY;
const FRAME = 64;
/** RX buffers posted up front; TX chains are probes plus the counted frames, within one ring. */
const RX_BUFFERS = 24;
const COUNTED = 8;
const MAX_PROBES = 8;

/** What the loop needs from the case. */
export interface LoopContext {
  readonly waitMs: number;
  readonly signal: AbortSignal;
  note(text: string): void;
}

const hex16 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;

/** The used index of `ring` as a reader of either byte order sees it, for failure texts. */
function describeUsedIdx(ring: BigEndianRing, posted: number): string {
  const { be, le } = ring.usedIdx();
  if (be <= posted) return `ring ${ring.index} used->idx ${be} (big-endian)`;
  const hint = le <= posted ? `: it reads ${le} little-endian, so the device stored it little-endian` : '';
  return `ring ${ring.index} used->idx reads ${be} big-endian with ${posted} chains posted${hint}`;
}

/** Runs the loop on rings `rx`/`tx` of `rig` (configured, big-endian, never touched by its drivers). */
export async function bigEndianLoopCheck(rig: RingRig, rxIndex: number, txIndex: number, ctx: LoopContext): Promise<CheckResult> {
  const rx = new BigEndianRing(rig, rxIndex);
  const tx = new BigEndianRing(rig, txIndex);
  for (let b = 0; b < RX_BUFFERS; b++) rx.post(b, rig.bufferSize, true, b === RX_BUFFERS - 1);
  const frames = new Map<number, Uint8Array>();
  const send = (seq: number): void => {
    const b = tx.count;
    const f = testFrame(seq, FRAME);
    const buf = rig.bufBytes(txIndex, b);
    buf.fill(0, 0, HDR);
    buf.set(f, HDR);
    frames.set(b, f);
    tx.post(b, HDR + FRAME, false);
  };
  const rxDone = (n: number): boolean => rx.usedIdx().be >= n && rx.usedIdx().be <= RX_BUFFERS;
  // Warm-up: a probe at a time until one comes back (some back-ends drop frames until the link is up).
  const probeWait = Math.max(50, Math.floor(ctx.waitMs / MAX_PROBES));
  let warm = false;
  for (let i = 0; i < MAX_PROBES && !warm && !ctx.signal.aborted; i++) {
    send(PROBE_SEQ);
    warm = await waitUntil(() => rxDone(1), probeWait, ctx.signal);
  }
  if (!warm) {
    return mismatch(
      'a probe frame sent on the big-endian TX ring comes back on the big-endian RX ring',
      `none of ${tx.count} probes came back within ${probeWait * tx.count} ms: ${describeUsedIdx(tx, tx.count)}, ${describeUsedIdx(rx, RX_BUFFERS)}` +
        ` (avail->idx was stored big-endian: ${hex16(tx.count)} reads ${hex16(((tx.count & 0xff) << 8) | (tx.count >>> 8))} little-endian)`,
    );
  }
  const base = rx.usedIdx().be;
  const firstCounted = tx.count;
  for (let i = 0; i < COUNTED; i++) send(i);
  // Probes still in flight may land too: wait for every counted frame's worth.
  await waitUntil(() => rxDone(base + COUNTED) && tx.usedIdx().be === tx.count, ctx.waitMs, ctx.signal);
  return judge(rig, rx, tx, frames, firstCounted, ctx);
}

/** Checks both used rings after the counted frames were sent. */
function judge(rig: RingRig, rx: BigEndianRing, tx: BigEndianRing, frames: Map<number, Uint8Array>, firstCounted: number, ctx: LoopContext): CheckResult {
  const txUsed = tx.usedIdx().be;
  if (txUsed !== tx.count) return mismatch(`TX used->idx ${tx.count} (every frame sent returned, big-endian)`, describeUsedIdx(tx, tx.count));
  for (let s = 0; s < txUsed; s++) {
    const e = tx.usedElem(s);
    if (e.id >= tx.count) return mismatch(`TX used element ${s} names a head below ${tx.count}`, `id ${e.id} (0x${e.id.toString(16)}) read big-endian`);
  }
  const rxUsed = rx.usedIdx().be;
  if (rxUsed > RX_BUFFERS) return mismatch(`RX used->idx at most ${RX_BUFFERS}`, describeUsedIdx(rx, RX_BUFFERS));
  const seen = new Set<number>();
  for (let s = 0; s < rxUsed; s++) {
    const e = rx.usedElem(s);
    if (e.id >= RX_BUFFERS) return mismatch(`RX used element ${s} names one of the ${RX_BUFFERS} heads posted`, `id ${e.id} (0x${e.id.toString(16)}) read big-endian`);
    if (e.len !== HDR + FRAME) return mismatch(`RX used element ${s}: len ${HDR + FRAME} (10-byte legacy header + ${FRAME}-byte frame), big-endian`, `len ${e.len} (0x${e.len.toString(16)})`);
    const got = rig.bufBytes(rx.index, e.id).subarray(HDR, HDR + FRAME);
    const seq = frameSeq(got);
    if (seq === PROBE_SEQ) continue;
    const sent = seq === undefined ? undefined : frames.get(firstCounted + seq);
    if (seq === undefined || seq >= COUNTED || sent === undefined) return mismatch(`RX buffer ${e.id} holds one of our frames at byte ${HDR}`, 'it holds no frame we sent');
    const diff = frameDiff(sent, got);
    if (diff !== undefined) return mismatch(`frame ${seq} comes back unchanged`, diff);
    if (seen.has(seq)) return mismatch(`frame ${seq} comes back once`, 'it came back twice');
    seen.add(seq);
  }
  ctx.note(`${seen.size} of ${COUNTED} counted frames looped through big-endian rings; TX used->idx ${txUsed}, RX used->idx ${rxUsed}`);
  if (seen.size !== COUNTED) return mismatch(`all ${COUNTED} counted frames come back`, `${seen.size} came back; ${describeUsedIdx(rx, RX_BUFFERS)}`);
  return undefined;
}

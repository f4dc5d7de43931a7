/**
 * Frames through a looping net back-end in multi-descriptor chains (direct or indirect): the
 * virtio-net header and the frame are split across descriptors at chosen lengths, on TX and on
 * RX, each piece in its own scattered allocation, so a back-end that assumes a layout
 * (header in its own descriptor, one descriptor per frame) or mis-walks a chain returns wrong
 * bytes (virtio §2.7.4 "MUST NOT make assumptions about the particular arrangement").
 * @module
 */
import type { BufferSegment } from '../../fakes/virtqueue/index.js';
import { netRxQueue, netTxQueue } from '../../fakes/wire/index.js';
import { NET_HDR_LEN, PROBE_SEQ, frameDiff, frameSeq, testFrame } from './data-net-loop.js';
import type { RingRig } from './ring-rig.js';
import { mismatch, type CheckResult } from './ring-verdict.js';
import { sleep, waitUntil } from './ring-wait.js';

/** Options of {@link chainLoop}. */
export interface ChainLoopOptions {
  count: number;
  size: number;
  /** Lengths of the TX pieces of header + frame; the last piece takes the rest. */
  txSplit: readonly number[];
  /** Lengths of the RX chain's writable pieces; the last one is sized to fit a full frame. */
  rxSplit: readonly number[];
  /** Put both chains in indirect tables (needs INDIRECT_DESC). */
  indirect?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Splits `total` bytes at `lens`, the last piece taking what is left. */
function pieces(total: number, lens: readonly number[]): number[] {
  const out: number[] = [];
  let left = total;
  for (let i = 0; i < lens.length - 1 && left > 0; i++) {
    const n = Math.min(lens[i], left);
    out.push(n);
    left -= n;
  }
  if (left > 0) out.push(left);
  return out;
}

/** Loops frames in chains and compares them byte by byte. */
export async function chainLoop(rig: RingRig, pair: number, o: ChainLoopOptions): Promise<CheckResult> {
  const rx = rig.q(netRxQueue(pair)).driver;
  const tx = rig.q(netTxQueue(pair)).driver;
  const mem = rig.memory;
  const rxChains = new Map<number, BufferSegment[]>();
  const scatter = (len: number): number => {
    // A 64-byte gap after every piece keeps neighbours apart and shows over-long writes.
    const at = rig.alloc.alloc(len + 64, 8);
    return at;
  };
  const postRxChain = (): boolean => {
    const lens = pieces(NET_HDR_LEN + Math.max(o.size, 64) + 64, o.rxSplit);
    const segs = lens.map((len) => ({ addr: scatter(len), len, writable: true }));
    const head = rx.addChain(segs, { indirect: o.indirect });
    if (head === undefined) return false;
    rxChains.set(head, segs);
    return true;
  };
  const fillRx = (n: number): void => {
    for (let i = 0; i < n && postRxChain(); i++) { /* posted */ }
    rx.publish();
    if (rx.needsKick()) rig.publish(netRxQueue(pair), true);
  };
  const sendChain = (seq: number): Uint8Array => {
    const frame = testFrame(seq, o.size);
    const all = new Uint8Array(NET_HDR_LEN + frame.length);
    all.set(frame, NET_HDR_LEN);
    let off = 0;
    const segs = pieces(all.length, o.txSplit).map((len) => {
      const addr = scatter(len);
      mem.write(addr, all.subarray(off, off + len));
      off += len;
      return { addr, len, writable: false };
    });
    if (tx.addChain(segs, { indirect: o.indirect }) === undefined) throw new Error('TX ring full');
    tx.publish();
    rig.publish(netTxQueue(pair), true);
    return frame;
  };
  const gather = (head: number, len: number): Uint8Array | undefined => {
    const segs = rxChains.get(head);
    if (!segs) return undefined;
    rxChains.delete(head);
    const out = new Uint8Array(len);
    let off = 0;
    for (const s of segs) {
      if (off >= len) break;
      const n = Math.min(s.len, len - off);
      out.set(mem.read(Number(s.addr), n), off);
      off += n;
    }
    return out.subarray(NET_HDR_LEN);
  };
  const reclaimTx = (): void => { while (tx.popUsed()) { /* returned */ } };

  fillRx(8);
  // Warm-up: one probe at a time until one comes back.
  const warmDeadline = Date.now() + o.timeoutMs;
  let warm = false;
  while (!warm && Date.now() < warmDeadline && !o.signal?.aborted) {
    reclaimTx();
    if (tx.inFlight === 0) sendChain(PROBE_SEQ);
    await waitUntil(() => rig.usedIdx(netRxQueue(pair)) !== rx.lastUsedIdx, 100, o.signal);
    for (let e = rx.popUsed(); e; e = rx.popUsed()) {
      const f = gather(e.id, e.len);
      if (f && frameSeq(f) === PROBE_SEQ) warm = true;
    }
    fillRx(8 - rx.inFlight);
  }
  if (!warm) return mismatch(`frames sent in ${o.indirect ? 'indirect' : 'chained'} descriptors come back`, `no probe came back within ${o.timeoutMs} ms`);
  await sleep(20);
  for (let e = rx.popUsed(); e; e = rx.popUsed()) rxChains.delete(e.id);

  const sent = new Map<number, Uint8Array>();
  const problems: string[] = [];
  let received = 0;
  for (let seq = 0; seq < o.count; seq++) {
    fillRx(Math.max(0, 8 - rx.inFlight));
    reclaimTx();
    sent.set(seq, sendChain(seq));
    const ok = await waitUntil(() => rig.usedIdx(netRxQueue(pair)) !== rx.lastUsedIdx, o.timeoutMs, o.signal);
    if (!ok) break;
    await sleep(1);
    for (let e = rx.popUsed(); e; e = rx.popUsed()) {
      const f = gather(e.id, e.len);
      const s = f === undefined ? undefined : frameSeq(f);
      if (s === PROBE_SEQ) continue;
      if (f === undefined || s === undefined || !sent.has(s)) { problems.push(`RX head ${e.id} (used.len ${e.len}) holds no frame we sent`); continue; }
      received++;
      const d = frameDiff(sent.get(s)!, f);
      if (d) problems.push(`frame ${s}: ${d}`);
    }
    if (problems.length > 0) break;
  }
  await waitUntil(() => { reclaimTx(); return tx.inFlight === 0; }, 1000, o.signal);
  const what = `${o.count} frames of ${o.size} bytes in ${o.indirect ? 'indirect tables' : 'descriptor chains'} (TX pieces ${o.txSplit.join('+')}…, RX pieces ${o.rxSplit.join('+')}…) come back intact`;
  if (problems.length > 0) return mismatch(what, problems.slice(0, 3).join('; '));
  if (received < o.count) return mismatch(what, `${received} of ${o.count} came back`);
  if (tx.inFlight !== 0) return mismatch('every TX chain is returned', `${tx.inFlight} still owned by the device`);
  return undefined;
}

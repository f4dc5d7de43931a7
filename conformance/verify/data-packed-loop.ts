/**
 * Frames through a looping net back-end over packed virtqueues (virtio 1.2 §2.8): RX and TX
 * rings built by the packed driver, started with SET_VRING_BASE carrying index 0 and wrap
 * counter 1 (vhost-user "Vring descriptor indices for packed virtqueues"), and enough frames to
 * wrap the rings many times.
 * @module
 */
import { closeFd, eventfdCreate, eventfdWrite } from '../../native/index.js';
import { FrontendRequest, ProtocolFeature, VirtioFeature, featureMask, hasFeature } from '../../fakes/wire/index.js';
import { GuestAllocator, MemfdGuestMemory } from '../../fakes/memory/index.js';
import { PackedQueueDriver, type UsedOut } from '../../fakes/virtqueue/index.js';
import { negotiate, sendMemoryTable } from '../../fakes/frontend/index.js';
import type { CaseContext } from '../model.js';
import { NET_HDR_LEN, PROBE_SEQ, frameDiff, frameSeq, testFrame } from './data-net-loop.js';
import { mismatch, type CheckResult } from './ring-verdict.js';
import { sleep } from './ring-wait.js';

/** Options of {@link packedLoop}. */
export interface PackedLoopOptions {
  count: number;
  size: number;
  queueSize: number;
}

/** Base for a fresh packed ring: avail index 0 with wrap 1, used index 0 with wrap 1 (§3.3). */
export const PACKED_FRESH_BASE = 0x8000_8000;
const BUF = 2048;

/** Loops frames through packed rings on pair 0 of a fresh session. */
export async function packedLoop(ctx: CaseContext, o: PackedLoopOptions): Promise<CheckResult> {
  const s = await ctx.openSession();
  const neg = await negotiate(s, { features: featureMask(VirtioFeature.VERSION_1, VirtioFeature.RING_PACKED), protocolFeatures: featureMask(ProtocolFeature.REPLY_ACK) });
  if (!hasFeature(neg.features, VirtioFeature.RING_PACKED)) return mismatch('RING_PACKED negotiated', 'not offered');
  const mem = MemfdGuestMemory.create([{ guestPhysAddr: 0x1_0000_0000, size: 4 << 20 }], { name: 'vhostlab-packed' });
  const fds: number[] = [];
  try {
    const alloc = new GuestAllocator(mem);
    const allocFn = (size: number, align: number): number => alloc.allocZeroed(size, align);
    const rings = [0, 1].map((index) => {
      const driver = PackedQueueDriver.create(mem, allocFn, { size: o.queueSize });
      const bufBase = alloc.alloc(o.queueSize * BUF, 4096);
      const kickFd = eventfdCreate();
      const callFd = eventfdCreate();
      fds.push(kickFd, callFd);
      return { index, driver, bufBase, kickFd, callFd, idToBuf: new Map<number, number>(), free: Array.from({ length: o.queueSize }, (_, b) => b) };
    });
    await sendMemoryTable(s, mem);
    for (const r of rings) {
      await s.setVringNum(r.index, o.queueSize);
      await s.setVringBase(r.index, PACKED_FRESH_BASE);
      await s.setVringAddr({
        index: r.index, flags: 0,
        descAddr: BigInt(mem.gpaToUser(r.driver.descAddr)),
        availAddr: BigInt(mem.gpaToUser(r.driver.driverEventAddr)),
        usedAddr: BigInt(mem.gpaToUser(r.driver.deviceEventAddr)),
        logGuestAddr: 0n,
      });
      await s.setVringFd(FrontendRequest.SET_VRING_KICK, r.index, r.kickFd);
      await s.setVringFd(FrontendRequest.SET_VRING_CALL, r.index, r.callFd);
      await s.setVringEnable(r.index, true);
    }
    const [rx, tx] = rings;
    const kick = (r: typeof rx): void => { r.driver.publish(); if (r.driver.needsKick()) eventfdWrite(r.kickFd); };
    const postRx = (): void => {
      let n = 0;
      for (let b = rx.free.pop(); b !== undefined; b = rx.free.pop()) {
        const id = rx.driver.addSingle(rx.bufBase + b * BUF, BUF, true);
        if (id < 0) { rx.free.push(b); break; }
        rx.idToBuf.set(id, b);
        n++;
      }
      if (n > 0) kick(rx);
    };
    const out: UsedOut = { id: 0, len: 0 };
    const reclaimTx = (): void => {
      while (tx.driver.popUsedInto(out)) {
        const b = tx.idToBuf.get(out.id);
        if (b !== undefined) { tx.idToBuf.delete(out.id); tx.free.push(b); }
      }
    };
    const send = (seq: number): Uint8Array | undefined => {
      const b = tx.free.pop();
      if (b === undefined) return undefined;
      const f = testFrame(seq, o.size);
      const bytes = mem.slice(tx.bufBase + b * BUF, NET_HDR_LEN + f.length);
      bytes.fill(0, 0, NET_HDR_LEN);
      bytes.set(f, NET_HDR_LEN);
      const id = tx.driver.addSingle(tx.bufBase + b * BUF, NET_HDR_LEN + f.length, false);
      if (id < 0) { tx.free.push(b); return undefined; }
      tx.idToBuf.set(id, b);
      return f;
    };
    const sent = new Map<number, Uint8Array>();
    const got = new Set<number>();
    const problems: string[] = [];
    let warm = false;
    let next = 0;
    let deadline = Date.now() + ctx.waitMs;
    postRx();
    while (got.size < o.count && Date.now() < deadline && !ctx.signal.aborted) {
      reclaimTx();
      if (!warm) {
        if (tx.driver.inFlight === 0 && send(PROBE_SEQ)) kick(tx);
      } else {
        let n = 0;
        while (next < o.count && next - got.size < o.queueSize / 2) {
          const f = send(next);
          if (!f) break;
          sent.set(next++, f);
          n++;
        }
        if (n > 0) kick(tx);
      }
      await sleep(warm ? 1 : 20);
      while (rx.driver.popUsedInto(out)) {
        const b = rx.idToBuf.get(out.id);
        if (b === undefined) { problems.push(`RX used id ${out.id} is not in flight`); continue; }
        rx.idToBuf.delete(out.id);
        rx.free.push(b);
        const frame = mem.read(rx.bufBase + b * BUF + NET_HDR_LEN, Math.max(0, out.len - NET_HDR_LEN));
        const seq = frameSeq(frame);
        if (seq === PROBE_SEQ) { warm = true; continue; }
        if (seq === undefined || !sent.has(seq)) { problems.push(`RX id ${out.id} (len ${out.len}) holds no frame we sent`); continue; }
        if (got.has(seq)) { problems.push(`frame ${seq} came back twice`); continue; }
        got.add(seq);
        deadline = Math.max(deadline, Date.now() + 1000);
        const d = frameDiff(sent.get(seq)!, frame);
        if (d) problems.push(`frame ${seq}: ${d}`);
      }
      postRx();
      const v = [...rx.driver.tracker.violations, ...tx.driver.tracker.violations];
      if (v.length > 0) problems.push(`${v[0].rule}: ${v[0].detail}`);
      if (problems.length > 0) break;
    }
    const what = `${o.count} frames of ${o.size} bytes loop intact through ${o.queueSize}-entry packed rings`;
    if (problems.length > 0) return mismatch(what, problems.slice(0, 3).join('; '));
    if (!warm) return mismatch(what, `no probe frame came back within ${ctx.waitMs} ms`);
    if (got.size < o.count) return mismatch(what, `${got.size} of ${o.count} came back (sent ${next})`);
    return undefined;
  } finally {
    for (const fd of fds) closeFd(fd);
    mem.close();
  }
}


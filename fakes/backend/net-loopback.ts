/**
 * The net loopback device: every frame sent on TX queue 2k+1 comes back on RX queue 2k of the
 * same pair (virtio net "Device Operation"; queue convention RX = 2k, TX = 2k + 1). Mergeable RX
 * buffers are used when MRG_RXBUF is acked (VU-NET-002: `num_buffers` counts them); a disabled
 * TX ring returns its buffers unsent and a disabled RX ring receives nothing (VU-RING-011,
 * VU-NET-005). A frame with no RX buffer to land in is dropped, as a NIC without a receiver
 * would (the front-end's TX never stalls on its own RX).
 *
 * Data path: a one-descriptor TX frame into a one-descriptor RX buffer that holds it (what DPDK
 * virtio-user and our driver post) takes `loopFlat`, which reads each descriptor once and never
 * builds a Chain (DeviceQueue.peekFlat; off when a hook must see every chain, as --strict's does).
 * Everything else is walked into one reusable Chain per role; a frame that fits one
 * single-segment RX buffer then takes `loopOne`. Both store the header in place and copy small
 * frames word by word, large ones with `copyWithin` (same region) or `set` (across regions). One
 * used-index store per ring per burst (DeviceQueue.flush); with IN_ORDER on a packed ring, one used
 * descriptor for a whole TX burst (DeviceQueue.pushRead). No allocation per small packet.
 * @module
 */
import { NET_HDR, NetFeature, VirtioFeature, featureMask, hasFeature } from '../wire/index.js';
import { Chain, Segment } from '../virtqueue/index.js';
import type { Device, DeviceContext, DeviceQueue } from './device.js';

/** Frames per TX burst before the used rings are published. */
export const NET_BURST = 64;
// A frame can need at most this many RX buffers with MRG_RXBUF (64 KiB of 1-byte buffers is
// absurd; DPDK caps similarly). Beyond it the frame is dropped.
const MAX_MERGE = 64;

// Copies up to this size go word by word through DataViews: `copyWithin` and `subarray` + `set`
// are runtime calls (the latter with a view allocation) costing 2–3x the word loop on a 64-byte
// frame; from about 128–192 bytes on, the runtime's memmove wins.
const SMALL_COPY = 128;

/**
 * Copies `len` bytes from `src[from..]` to `dst[to..]` with 4-byte moves (front to back: for
 * overlapping buffers, which only a misbehaving driver produces, the bytes are garbage but stay
 * in bounds).
 */
function copyWords(src: DataView, from: number, dst: DataView, to: number, len: number): void {
  let i = 0;
  // Int32, not Float64: a float round trip may canonicalise NaN bit patterns.
  for (; i + 4 <= len; i += 4) dst.setInt32(to + i, src.getInt32(from + i));
  for (; i < len; i++) dst.setUint8(to + i, src.getUint8(from + i));
}

/**
 * Copies `k` bytes from `s.host[from..]` to `w.host[o..]`: small copies word by word (native
 * words when both ends are 4-aligned, the usual mbuf layout), large ones with `copyWithin` (same
 * region) or `set` (across regions).
 */
function copySegment(s: Segment, from: number, w: Segment, o: number, k: number): void {
  const dst = w.host;
  if (k <= SMALL_COPY) {
    const sw = s.words;
    const dw = w.words;
    if (((from | o) & 3) === 0 && sw.length > 0 && dw.length > 0) {
      const n = k >>> 2;
      const si = from >>> 2;
      const di = o >>> 2;
      for (let j = 0; j < n; j++) dw[di + j] = sw[si + j];
      for (let j = n << 2; j < k; j++) dst[o + j] = s.host[from + j];
    } else copyWords(s.view, from, w.view, o, k);
  } else if (s.host === dst) dst.copyWithin(o, from, from + k);
  else dst.set(s.host.subarray(from, from + k), o);
}

/** Options of {@link NetLoopbackDevice}. */
export interface NetLoopbackOptions {
  /** Queue pairs (default 1). */
  readonly queuePairs?: number;
  /** MAC in the config space (default 02:00:00:00:00:01). */
  readonly mac?: readonly number[];
}

/** Counters of the loopback. */
export interface NetCounters {
  /** Frames looped back. */
  looped: number;
  /** Frames dropped: RX disabled, absent or full. */
  dropped: number;
  /** Frames that did not fit their RX buffer(s) and were cut. */
  truncated: number;
  /** Of the looped frames, those that took the one-descriptor fast path (the rest were walked as chains). */
  fastPath: number;
}

/** A virtio-net device that loops TX into RX. */
export class NetLoopbackDevice implements Device {
  readonly type = 'net' as const;
  readonly features: bigint;
  readonly maxQueues: number;
  readonly queueNum: number;
  /** Running counters (for logs and tests). */
  readonly counters: NetCounters = { looped: 0, dropped: 0, truncated: 0, fastPath: 0 };
  private readonly mac: Uint8Array;
  private readonly tx = new Chain();
  // The fast path's buffers (one-descriptor chains, see loopFlat).
  private readonly txFlat = new Segment();
  private readonly rxFlat = new Segment();
  private readonly rx: Chain[] = Array.from({ length: MAX_MERGE }, () => new Chain());
  private readonly hdr = new Uint8Array(NET_HDR.SIZE_V1);
  private configMac: Uint8Array;
  // Copy cursor over the gathered RX chains (fields, not closure locals: no allocation per frame).
  private rxq: DeviceQueue | undefined;
  private count = 0;
  private ci = 0;
  private si = 0;
  private soff = 0;
  private written = 0;
  private logging = false;
  private featuresSeen = -1n;
  private hdrLen: number = NET_HDR.SIZE_V1;
  private mrg = false;

  constructor(options: NetLoopbackOptions = {}) {
    const pairs = options.queuePairs ?? 1;
    if (!Number.isInteger(pairs) || pairs < 1 || pairs > 128) throw new RangeError(`queue pairs ${pairs} outside 1..128`);
    this.queueNum = pairs;
    this.maxQueues = 2 * pairs;
    this.features = featureMask(NetFeature.MRG_RXBUF, NetFeature.MQ);
    this.mac = Uint8Array.from(options.mac ?? [0x02, 0, 0, 0, 0, 0x01]);
    this.configMac = this.mac.slice();
  }

  /** Config space: `0/6 mac`, `6/2 status` (LINK_UP), `8/2 max_virtqueue_pairs`, `10/2 mtu`. */
  readConfig(): Uint8Array {
    const out = new Uint8Array(12);
    const v = new DataView(out.buffer);
    out.set(this.configMac, 0);
    v.setUint16(6, 1, true);
    v.setUint16(8, this.queueNum, true);
    v.setUint16(10, 1500, true);
    return out;
  }

  /** Only the MAC is writable, and only as a migration write (flags 1); the driver sets it over the control queue. */
  writeConfig(offset: number, data: Uint8Array, migration: boolean): string | undefined {
    if (!migration) return 'virtio-net config fields are read-only for the driver';
    if (offset + data.length > 6) return `bytes [${offset}, +${data.length}) are not the MAC`;
    this.configMac.set(data, offset);
    return undefined;
  }

  /** The state a migration carries: the config-space MAC (set by migration writes). */
  saveState(): Uint8Array {
    return this.configMac.slice();
  }

  /** Restores {@link saveState}'s MAC. */
  loadState(blob: Uint8Array): string | undefined {
    if (blob.length !== 6) return `net state is a 6-byte MAC, the stream carries ${blob.length} bytes`;
    this.configMac = blob.slice();
    return undefined;
  }

  /** TX rings (odd indices) drive the loopback; RX rings are filled from them. */
  drivesQueue(index: number): boolean {
    return (index & 1) === 1;
  }

  reset(): void {
    this.configMac = this.mac.slice();
  }

  /** Loops up to {@link NET_BURST} frames from `txq` into the RX ring of its pair. */
  process(txq: DeviceQueue, ctx: DeviceContext): number {
    // Most passes of a busy-polling engine find nothing: leave before the per-burst set-up (the
    // feature and enabled checks compare bigints).
    if (!txq.hasAvailable()) return 0;
    const features = ctx.features;
    // Derived once per feature set, not per burst: bigint feature tests showed in profiles.
    if (features !== this.featuresSeen) {
      this.featuresSeen = features;
      this.mrg = hasFeature(features, NetFeature.MRG_RXBUF);
      this.hdrLen = hasFeature(features, VirtioFeature.VERSION_1) || this.mrg ? NET_HDR.SIZE_V1 : NET_HDR.SIZE_LEGACY;
    }
    const hdrLen = this.hdrLen;
    const mrg = this.mrg;
    const rxq = ctx.queue(txq.index - 1);
    const deliver = txq.enabled && rxq !== undefined && rxq.enabled;
    let n = deliver ? this.loopFlat(txq, rxq!, hdrLen) : 0;
    // The general path: what the fast path leaves (chains of several descriptors, indirect
    // tables, buffers in another region, short frames, no RX buffer, disabled rings, hooks).
    const t = this.tx;
    while (n < NET_BURST && txq.pop(t) !== undefined) {
      n++;
      if (t.readableBytes < hdrLen) {
        ctx.violation('VU-DP-011', `TX chain ${t.head} has ${t.readableBytes} readable bytes, less than the ${hdrLen}-byte net header`, txq.index);
        txq.pushUsed(t, 0);
        continue;
      }
      if (!deliver || !this.loop(t, rxq!, hdrLen, mrg)) this.counters.dropped++;
      else this.counters.looped++;
      // TX buffers are device-readable only: nothing written, len 0 (VU-DP-008).
      txq.pushRead(t);
    }
    if (n > 0) {
      txq.flush();
      rxq?.flush();
    }
    return n;
  }

  /**
   * The packed fast path: one-descriptor TX frames into one-descriptor RX buffers that hold them
   * (DPDK virtio-user's usual layout), without Chain bookkeeping. Stops at the first frame it
   * cannot take whole; that frame is still in the ring, for the general path.
   */
  private loopFlat(txq: DeviceQueue, rxq: DeviceQueue, hdrLen: number): number {
    const s = this.txFlat;
    const d = this.rxFlat;
    let n = 0;
    while (n < NET_BURST) {
      const tid = txq.peekFlat(s, false, hdrLen);
      if (tid < 0) break;
      const rid = rxq.peekFlat(d, true, s.len);
      if (rid < 0) break;
      txq.skipFlat();
      rxq.skipFlat();
      n++;
      this.writeHeader(d, hdrLen, rxq.bigEndian);
      copySegment(s, s.hostOffset + hdrLen, d, d.hostOffset + hdrLen, s.len - hdrLen);
      if (rxq.logging) rxq.logWrite(d.addr, s.len);
      rxq.pushUsedFlat(rid, s.len);
      txq.pushReadFlat(tid);
    }
    this.counters.looped += n;
    this.counters.fastPath += n;
    return n;
  }

  /**
   * The net header of a frame in one RX buffer: offload fields zero, num_buffers 1 (12-byte
   * layout), in the ring's byte order (a legacy big-endian ring's header is big-endian too).
   */
  private writeHeader(w: Segment, hdrLen: number, bigEndian: boolean): void {
    const base = w.hostOffset;
    if (hdrLen === NET_HDR.SIZE_V1) {
      // flags..csum_offset zero, num_buffers (u16 at 10) = 1: bytes 8..11 are 00 00 01 00 (LE) or 00 00 00 01 (BE).
      const dv = w.view;
      dv.setInt32(base, 0);
      dv.setInt32(base + 4, 0);
      dv.setInt32(base + 8, bigEndian ? 1 : 0x10000, !bigEndian);
    } else {
      const dst = w.host;
      for (let i = 0; i < hdrLen; i++) dst[base + i] = 0;
    }
  }

  /** Copies one TX frame into RX buffer(s); false when it was dropped. */
  private loop(t: Chain, rxq: DeviceQueue, hdrLen: number, mrg: boolean): boolean {
    const frameLen = t.readableBytes - hdrLen;
    const need = hdrLen + frameLen;
    // Gather RX chains: one without MRG_RXBUF, as many as the frame needs with it.
    let count = 0;
    let room = 0;
    while (room < need) {
      if (count === MAX_MERGE || (count === 1 && !mrg)) break;
      const c = rxq.pop(this.rx[count]);
      if (c === undefined) break;
      count++;
      room += c.writableBytes;
    }
    if (count === 0) return false;
    if (count === 1 && room >= need && this.rx[0].writable.length === 1) {
      this.loopOne(t, this.rx[0], rxq, hdrLen, need);
      return true;
    }
    if (room < need) this.counters.truncated++;
    // Header: all offload fields zero; num_buffers (VERSION_1 / MRG_RXBUF layout) = buffers used.
    const h = this.hdr;
    h.fill(0);
    if (hdrLen === NET_HDR.SIZE_V1) {
      const be = rxq.bigEndian;
      h[NET_HDR.NUM_BUFFERS + (be ? 1 : 0)] = count & 0xff;
      h[NET_HDR.NUM_BUFFERS + (be ? 0 : 1)] = count >>> 8;
    }
    this.rxq = rxq;
    this.count = count;
    this.ci = 0;
    this.si = 0;
    this.soff = 0;
    this.written = 0;
    this.logging = rxq.logging;
    this.put(h, 0, hdrLen);
    // Frame bytes: the TX readable segments after the header.
    let skip = hdrLen;
    for (let i = 0; i < t.readable.length && this.ci < count; i++) {
      const s = t.readable[i];
      if (skip >= s.len) {
        skip -= s.len;
        continue;
      }
      this.put(s.host, s.hostOffset + skip, s.len - skip);
      skip = 0;
    }
    // Return the chain being filled, then any gathered but unused ones with length 0.
    for (; this.ci < count; this.ci++) {
      rxq.pushUsed(this.rx[this.ci], this.written);
      this.written = 0;
    }
    this.rxq = undefined;
    return true;
  }

  /**
   * The common case: the frame fits one single-segment RX buffer. Header fields are stored in
   * place and the frame copied segment by segment, without the cursor machinery or any view
   * allocation (`copyWithin` when both buffers are in the same region).
   */
  private loopOne(t: Chain, c: Chain, rxq: DeviceQueue, hdrLen: number, need: number): void {
    const w = c.writable[0];
    this.writeHeader(w, hdrLen, rxq.bigEndian);
    let o = w.hostOffset + hdrLen;
    let skip = hdrLen;
    const segs = t.readable;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (skip >= s.len) {
        skip -= s.len;
        continue;
      }
      const k = s.len - skip;
      copySegment(s, s.hostOffset + skip, w, o, k);
      o += k;
      skip = 0;
    }
    if (rxq.logging) rxq.logWrite(w.addr, need);
    rxq.pushUsed(c, need);
  }

  /** Copies `len` bytes from `src[at..]` into the RX chains at the cursor; returns bytes copied. */
  private put(src: Uint8Array, at: number, len: number): number {
    const rxq = this.rxq!;
    let chain = this.rx[this.ci];
    let done = 0;
    while (done < len) {
      const w = chain.writable;
      while (this.si < w.length && this.soff === w[this.si].len) {
        this.si++;
        this.soff = 0;
      }
      if (this.si === w.length) {
        rxq.pushUsed(chain, this.written);
        this.written = 0;
        if (++this.ci === this.count) return done;
        chain = this.rx[this.ci];
        this.si = 0;
        this.soff = 0;
        continue;
      }
      const seg = w[this.si];
      const k = Math.min(len - done, seg.len - this.soff);
      const dst = seg.hostOffset + this.soff;
      if (src === seg.host) seg.host.copyWithin(dst, at + done, at + done + k);
      else seg.host.set(src.subarray(at + done, at + done + k), dst);
      if (this.logging) rxq.logWrite(seg.addr + this.soff, k);
      this.soff += k;
      this.written += k;
      done += k;
    }
    return done;
  }
}

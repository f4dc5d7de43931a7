/**
 * What the split and packed data-path runners share: where a scenario's symbolic places are in
 * the rig's memory, the net header of its TX frame, the bytes it lets the device write, and the
 * oracle steps around the posted chains (a failed step's error turned into a finding, the crash
 * check after the quiet window, the same connection still answering, a fresh session's liveness).
 * @module
 */
import { FrontendSession } from '../../fakes/frontend/index.js';
import { DescFlag, NET_HDR, PeerDisconnectedError, TimeoutError } from '../../fakes/wire/index.js';
import type { GpaRange } from '../../conformance/verify/bad-chain.js';
import { NET_HDR_LEN } from '../../conformance/verify/data-net-loop.js';
import type { Mismatch } from '../../conformance/verify/ring-verdict.js';
import { crashFinding, livenessFinding, timeoutFinding } from '../campaign/oracles.js';
import { Finding, FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { SCRATCH_BYTES, type AddrSpec, type DatapathScenario, type DescSpec, type HeaderSpec } from './scenario.js';

/** Options of a scenario run. */
export interface DatapathRunOptions {
  readonly replyTimeoutMs: number;
  /** How long the device gets to act on the posted chains (default 60 ms). */
  readonly quietMs?: number;
  /** Run the fresh-session liveness check afterwards (default true). */
  readonly liveness?: boolean;
}

/** Bytes between two indirect tables in the scratch area. */
export const TABLE_STRIDE = 256;
/** Size of the frame a TX scenario's descriptors read. */
export const FRAME = 64;
const U64_TOP = (1n << 64n) - 16n;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the scenario's symbolic places are in this rig's memory. */
export interface Places {
  readonly scratch: number;
  /** First and one-past-last GPA of guest memory. */
  readonly start: number;
  readonly end: number;
}

/** GPA of indirect table `t`. */
export const tableAddr = (p: Places, t: number): number => p.scratch + SCRATCH_BYTES / 2 + t * TABLE_STRIDE;

/** The u64 address `a` names. */
export function resolve(a: AddrSpec, p: Places): bigint {
  switch (a.k) {
    case 'scratch': return BigInt(p.scratch + a.off);
    case 'table': return BigInt(tableAddr(p, a.t) + a.off);
    case 'edge':
      switch (a.e) {
        case 'zero': return 0n;
        case 'before-start': return BigInt(p.start - 64);
        case 'last-16': return BigInt(p.end - 16);
        case 'end': return BigInt(p.end);
        case 'u64-top': return U64_TOP;
        case 'far': return 0x7fff_0000_0000n;
      }
  }
}

/** Writable ranges of the scenario that lie inside guest memory, and their total bytes. */
export function writableOf(s: DatapathScenario, p: Places): { ranges: GpaRange[]; total: number } {
  const ranges: GpaRange[] = [];
  let total = 0;
  for (const d of [...s.descs, ...s.tables.flat()] as DescSpec[]) {
    if ((d.flags & DescFlag.WRITE) === 0) continue;
    const a = resolve(d.addr, p);
    const len = d.len >>> 0;
    if (a < BigInt(p.start) || a + BigInt(len) > BigInt(p.end)) continue;
    ranges.push({ start: Number(a), len });
    total += len;
  }
  return { ranges, total };
}

/** The 12-byte virtio-net header carrying the scenario's offload fields. */
export function netHeader(h: HeaderSpec): Uint8Array {
  const hdr = new Uint8Array(NET_HDR_LEN);
  const hv = new DataView(hdr.buffer);
  hdr[NET_HDR.FLAGS] = h.flags;
  hdr[NET_HDR.GSO_TYPE] = h.gsoType;
  hv.setUint16(NET_HDR.HDR_LEN, h.hdrLen, true);
  hv.setUint16(NET_HDR.GSO_SIZE, h.gsoSize, true);
  hv.setUint16(NET_HDR.CSUM_START, h.csumStart, true);
  hv.setUint16(NET_HDR.CSUM_OFFSET, h.csumOffset, true);
  return hdr;
}

/** A finding of `kind` from a check's mismatch. */
export function mismatchFinding(kind: Finding['kind'], m: Mismatch, log: string[]): Finding {
  return new Finding(kind, `expected ${m.expected.join(' / ')}; got ${m.actual}`, log);
}

/** How the loop checks (data-net-loop.ts, data-packed-loop.ts) word a frame that came back damaged or twice. */
const WARM_UP_DAMAGE = /frame \d+: (byte|length|MAC)|frame \d+ came back twice/;

/** The steps of one run on `peer`, each turning a failure into the finding it means. */
export class RunSteps {
  constructor(readonly peer: FuzzPeer, readonly o: DatapathRunOptions, readonly log: string[]) {}

  /** A fresh session on the peer. */
  async open(): Promise<FrontendSession> {
    return new FrontendSession(await this.peer.connect(this.o.replyTimeoutMs), { replyTimeoutMs: this.o.replyTimeoutMs });
  }

  /** Runs `f`; a time-out is a hang (or a crash), any other error a crash or a liveness finding. */
  async step<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof Finding) throw err;
      if (err instanceof TimeoutError) throw await timeoutFinding(this.peer, `${what}: ${err.message}`);
      throw (await crashFinding(this.peer, what)) ?? new Finding(FindingKind.LIVENESS, `${what} failed: ${(err as Error).message}`, this.log);
    }
  }

  /**
   * A warm-up that did not loop its frames: a crash if the peer died; corruption when frames came
   * back damaged or twice (as the liveness oracle counts them); else a liveness finding.
   */
  async warmUpFailed(actual: string): Promise<never> {
    const kind = WARM_UP_DAMAGE.test(actual) ? FindingKind.CORRUPTION : FindingKind.LIVENESS;
    throw (await crashFinding(this.peer, 'the warm-up')) ?? new Finding(kind, `warm-up before the scenario: ${actual}`, this.log);
  }

  /** After the quiet window: the process is still there. */
  async survived(): Promise<void> {
    const crash = await crashFinding(this.peer, 'after the chains were posted');
    if (crash) throw new Finding(crash.kind, crash.summary, [...this.log, ...crash.detail]);
    if (this.peer.alive() === false) throw new Finding(FindingKind.CRASH, 'the back-end is gone after the chains were posted', this.log);
  }

  /** The same connection still answers GET_FEATURES (closing it is allowed). */
  async stillAnswers(session: FrontendSession): Promise<void> {
    if (session.connection.isBroken) return;
    try {
      await session.getFeatures();
    } catch (err) {
      if (err instanceof TimeoutError) throw await timeoutFinding(this.peer, `GET_FEATURES on the same connection got no answer within ${this.o.replyTimeoutMs} ms after the chains were posted`);
      if (!(err instanceof PeerDisconnectedError)) throw err;
    }
  }

  /** A fresh session starts and loops traffic (unless the options turn it off). */
  async liveness(): Promise<void> {
    if (this.o.liveness === false) return;
    const l = await livenessFinding(this.peer, { replyTimeoutMs: this.o.replyTimeoutMs });
    if (l) throw new Finding(l.kind, l.summary, [...this.log, ...l.detail]);
  }
}

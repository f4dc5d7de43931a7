/**
 * Oracles every live fuzzer applies after a run (CHECKLIST §7): the peer did not crash; a fresh
 * connection is served and completes the start sequence (the hang oracle's "fresh connection not
 * served"); traffic flows through a looping net back-end; and the peer's open fds went back to
 * where they were (fd growth, when the peer is local).
 * @module
 */
import { FrontendSession, NetDevice, TrafficWarmUpError, negotiate, runTraffic } from '../../fakes/frontend/index.js';
import { TimeoutError, VirtioFeature, featureMask } from '../../fakes/wire/index.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { Finding, FindingKind } from './finding.js';

/** Options of {@link checkPeerAfterRun}. */
export interface AfterRunOptions {
  /** Reply time-out of the liveness session (ms). */
  readonly replyTimeoutMs: number;
  /** Open a fresh session and start the device (default true). */
  readonly liveness?: boolean;
  /** Also run a short traffic burst (default: when the peer loops net frames). */
  readonly traffic?: boolean;
  /** fds the peer may hold above its count before the run (default 2). */
  readonly fdTolerance?: number;
  /** How long to wait for the peer to release fds after the run (default 500 ms). */
  readonly fdSettleMs?: number;
}

/** A crash finding if the peer died, else undefined. */
export async function crashFinding(peer: FuzzPeer, context: string): Promise<Finding | undefined> {
  // Let the exit of a process that just died be reaped before asking.
  await new Promise((r) => setTimeout(r, 10));
  const crash = peer.takeCrash();
  if (crash !== undefined) return new Finding(FindingKind.CRASH, `${crash} (${context})`, [peer.logTail(2000)]);
  return undefined;
}

/** What a time-out means: a crash when the peer is gone, a hang when it still runs. */
export async function timeoutFinding(peer: FuzzPeer, what: string): Promise<Finding> {
  const crash = await crashFinding(peer, what);
  if (crash) return crash;
  if (peer.alive() === false) return new Finding(FindingKind.CRASH, `the back-end is gone (${what})`);
  return new Finding(FindingKind.HANG, what, [peer.logTail(2000)]);
}

/**
 * Fresh session, start sequence, and (for a looping net peer) 32 frames that must all come back
 * intact. Returns a finding or undefined.
 */
export async function livenessFinding(peer: FuzzPeer, o: AfterRunOptions): Promise<Finding | undefined> {
  let session: FrontendSession;
  try {
    session = new FrontendSession(await peer.connect(o.replyTimeoutMs), { replyTimeoutMs: o.replyTimeoutMs });
  } catch (err) {
    return err instanceof TimeoutError
      ? timeoutFinding(peer, `a fresh connection was not served within ${o.replyTimeoutMs} ms`)
      : (await crashFinding(peer, 'fresh connection')) ?? new Finding(FindingKind.LIVENESS, `cannot open a fresh connection: ${(err as Error).message}`);
  }
  let device: NetDevice | undefined;
  try {
    if (peer.deviceType !== 'net') {
      await negotiate(session, { features: featureMask(VirtioFeature.VERSION_1), protocolFeatures: 0n });
      return undefined;
    }
    device = await NetDevice.start(session, { queueSize: 64 });
    if (o.traffic ?? peer.loopingNet) {
      const packets = 32;
      const r = await runTraffic(device, { packets, size: 128, warmUpTimeoutMs: Math.max(1000, o.replyTimeoutMs), idleTimeoutMs: Math.max(500, o.replyTimeoutMs / 2) });
      if (r.corrupted > 0) return new Finding(FindingKind.CORRUPTION, `liveness traffic: ${r.corrupted} of ${packets} frames corrupted`);
      if (r.received < packets) return new Finding(FindingKind.LIVENESS, `liveness traffic: ${r.received} of ${packets} frames came back`);
    }
    return undefined;
  } catch (err) {
    if (err instanceof TimeoutError) return timeoutFinding(peer, `a fresh session got no reply: ${err.message}`);
    if (err instanceof TrafficWarmUpError) return (await crashFinding(peer, 'liveness traffic')) ?? new Finding(FindingKind.LIVENESS, `no traffic flows on a fresh session: ${err.message}`);
    return (await crashFinding(peer, 'fresh session')) ?? new Finding(FindingKind.LIVENESS, `a fresh session cannot start: ${(err as Error).message}`);
  } finally {
    device?.close();
    session.close();
  }
}

/** An fd-growth finding when the peer's fds stay above `before + tolerance` for the settle time. */
export async function fdFinding(peer: FuzzPeer, before: number | undefined, o: AfterRunOptions): Promise<Finding | undefined> {
  if (before === undefined) return undefined;
  const limit = before + (o.fdTolerance ?? 2);
  const deadline = Date.now() + (o.fdSettleMs ?? 500);
  for (;;) {
    const now = peer.fdCount();
    if (now === undefined || now <= limit) return undefined;
    if (Date.now() >= deadline) return new Finding(FindingKind.FD_LEAK, `the back-end holds ${now - before} more fds than before the run (${before} → ${now})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every after-run oracle in order: crash, liveness, crash again, fd growth. */
export async function checkPeerAfterRun(peer: FuzzPeer, fdBefore: number | undefined, o: AfterRunOptions): Promise<Finding | undefined> {
  const crash = await crashFinding(peer, 'after the run');
  if (crash) return crash;
  if (o.liveness ?? true) {
    const l = await livenessFinding(peer, o);
    if (l) return l;
  }
  return (await crashFinding(peer, 'after the liveness check')) ?? (await fdFinding(peer, fdBefore, o));
}

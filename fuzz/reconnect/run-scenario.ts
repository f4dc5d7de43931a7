/**
 * Runs one reconnect scenario against a peer and applies the reconnect oracles:
 * - the session comes back (a fresh connection is served, in client mode the back-end reconnects
 *   after vhostlab listens again) — else `state-loss` (or `crash`/`hang`);
 * - no descriptor is completed twice or with an id that is not available (lifetime tracker), and
 *   none is lost: after the final drain every TX descriptor is back — else `state-loss`;
 * - traffic resumes: every frame sent after the last resume arrives, exactly once — else
 *   `liveness`; a frame sent before a disconnect may be lost or, after a non-graceful one,
 *   duplicated (net semantics; a graceful stop must complete in-flight work, VU-RING-005);
 * - no frame arrives corrupted — else `corruption`.
 * The resume base is GET_VRING_BASE's answer after a graceful stop, else the used index in guest
 * memory (what QEMU uses when the back-end went away).
 * @module
 */
import { TimeoutError } from '../../fakes/wire/errors.js';
import { crashFinding, timeoutFinding } from '../campaign/oracles.js';
import { Finding, FindingKind } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { CuttingSession, SessionCutError, type CutPlan } from './cutting-session.js';
import { LoopDevice } from './loop-device.js';
import { describeCycle, type ReconnectScenario } from './scenario.js';

/** Options of {@link runReconnectScenario}. */
export interface ReconnectRunOptions {
  /** Reply and reconnect time-out (ms). */
  readonly replyTimeoutMs: number;
  /** How long the final drain may take (default 2000 ms). */
  readonly drainMs?: number;
  /** Log lines of what happened (evidence). */
  readonly log?: string[];
}

/** Runs `s` on `peer` (started). Throws a {@link Finding}. */
export async function runReconnectScenario(peer: FuzzPeer, s: ReconnectScenario, o: ReconnectRunOptions): Promise<void> {
  const log = o.log ?? [];
  // Inflight tracking where offered, so a killed back-end's restart takes the resubmission path.
  const device = LoopDevice.create({ inflight: true });
  let session: CuttingSession | undefined;
  const open = async (plan?: CutPlan): Promise<CuttingSession> => {
    try {
      return new CuttingSession(await peer.connect(o.replyTimeoutMs), plan, { replyTimeoutMs: o.replyTimeoutMs });
    } catch (err) {
      if (err instanceof TimeoutError) throw await timeoutFinding(peer, `the session did not come back: no connection within ${o.replyTimeoutMs} ms`);
      throw (await crashFinding(peer, 'reconnecting')) ?? new Finding(FindingKind.STATE_LOSS, `the session did not come back: ${(err as Error).message}`);
    }
  };
  const attach = async (sess: CuttingSession, bases?: { rx: number; tx: number }): Promise<boolean> => {
    try {
      await device.attach(sess, bases);
      return true;
    } catch (err) {
      if (err instanceof SessionCutError) return false;
      if (err instanceof TimeoutError) throw await timeoutFinding(peer, `no reply while starting the device: ${err.message}`);
      throw (await crashFinding(peer, 'starting the device')) ?? new Finding(FindingKind.STATE_LOSS, `the device cannot start again: ${(err as Error).message}`);
    }
  };
  try {
    session = await open();
    await attach(session, { rx: 0, tx: 0 });
    log.push(device.inflightInUse ? 'started (inflight area in use)' : 'started');
    let gracefulOnly = true;
    for (const c of s.cycles) {
      device.sendFrames(c.frames);
      if (c.point.kind === 'idle') await device.drain(200);
      else device.poll();
      let bases: { rx: number; tx: number } | undefined;
      if (c.action === 'graceful') {
        try {
          bases = { rx: await session.getVringBase(device.rx.index), tx: await session.getVringBase(device.tx.index) };
        } catch (err) {
          if (err instanceof TimeoutError) throw await timeoutFinding(peer, `no reply to GET_VRING_BASE: ${err.message}`);
          throw (await crashFinding(peer, 'GET_VRING_BASE')) ?? new Finding(FindingKind.STATE_LOSS, `GET_VRING_BASE failed: ${(err as Error).message}`);
        }
        // VU-RING-005: in-flight work is completed before the reply, so the used index is the base.
        device.poll();
      } else {
        gracefulOnly = false;
      }
      session.close();
      if (c.action === 'kill-backend') {
        await peer.kill();
        await peer.start();
      } else if (c.action === 'relisten') {
        await peer.relisten(c.pauseMs);
      } else if (c.pauseMs > 0) {
        await new Promise((r) => setTimeout(r, c.pauseMs));
      }
      log.push(describeCycle(c));
      if (c.point.kind === 'in-start') {
        const cut = await open({ message: c.point.message, fraction: c.point.fraction });
        const done = await attach(cut, bases);
        if (done) {
          cut.disarm();
          session = cut;
          continue;
        }
        log.push(`cut inside ${cut.cutDescription}`);
      }
      session = await open();
      await attach(session, bases);
    }
    const crash = await crashFinding(peer, 'after the reconnects');
    if (crash) throw crash;
    const from = device.nextSeq;
    device.sendFrames(s.finalFrames);
    await device.drain(o.drainMs ?? 2000, from);
    const v = device.violations;
    if (v.length > 0) throw new Finding(FindingKind.STATE_LOSS, `${v.length} descriptor lifetime violations across reconnects: ${v[0].rule} ${v[0].detail}`, log);
    if (device.txInFlight > 0) throw new Finding(FindingKind.STATE_LOSS, `${device.txInFlight} TX descriptors never completed after the reconnects (lost)`, log);
    if (device.corrupted > 0) throw new Finding(FindingKind.CORRUPTION, `${device.corrupted} frames arrived corrupted`, log);
    let missing = 0;
    let dup = 0;
    for (let q = from; q < device.nextSeq; q++) {
      const n = device.received.get(q) ?? 0;
      if (n === 0) missing++;
      if (n > 1) dup++;
    }
    for (let q = 0; q < from && gracefulOnly; q++) if ((device.received.get(q) ?? 0) > 1) dup++;
    if (dup > 0) throw new Finding(FindingKind.STATE_LOSS, `${dup} frames delivered twice${gracefulOnly ? ' (graceful stops only: nothing may be redone)' : ' after the last resume'}`, log);
    if (missing > 0) throw new Finding(FindingKind.LIVENESS, `traffic does not resume: ${missing} of ${device.nextSeq - from} frames sent after the last reconnect never arrived`, log);
  } finally {
    session?.close();
    device.close();
  }
}

/**
 * Runs a list of steps on a fresh connection and applies every oracle: the hang oracle while the
 * steps run (via {@link ConnectionSink}), then crash, liveness and fd growth. Shared by the
 * fuzzer (to confirm a shrunk reproducer replays) and by `vhostlab fuzz --replay`.
 * @module
 */
import type { FuzzStep } from '../arbitraries/step.js';
import { TimeoutError } from '../../fakes/wire/errors.js';
import { checkPeerAfterRun, crashFinding, timeoutFinding, type AfterRunOptions } from '../campaign/oracles.js';
import { Finding, FindingKind, isFinding } from '../campaign/finding.js';
import type { FuzzPeer } from '../peer/fuzz-peer.js';
import { ConnectionSink } from './connection-sink.js';

/** Opens a connection for a run; a time-out is a hang (or a crash if the peer is gone). */
export async function openRunConnection(peer: FuzzPeer, timeoutMs: number): Promise<ConnectionSink | Finding> {
  try {
    return new ConnectionSink(await peer.connect(timeoutMs), peer, { replyTimeoutMs: timeoutMs });
  } catch (err) {
    if (err instanceof TimeoutError) return timeoutFinding(peer, `a fresh connection was not served within ${timeoutMs} ms`);
    return (await crashFinding(peer, 'connecting')) ?? new Finding(FindingKind.LIVENESS, `cannot connect: ${(err as Error).message}`);
  }
}

/** Sends `steps` exactly and checks the peer afterwards; the finding, or undefined. */
export async function runSteps(peer: FuzzPeer, steps: readonly FuzzStep[], o: AfterRunOptions): Promise<Finding | undefined> {
  const fdBefore = peer.fdCount();
  const sink = await openRunConnection(peer, o.replyTimeoutMs);
  if (isFinding(sink)) return sink;
  try {
    for (const s of steps) {
      const out = await sink.send(s);
      if (out.kind === 'closed') break;
    }
  } catch (err) {
    if (isFinding(err)) return err;
    throw err;
  } finally {
    sink.close();
  }
  return checkPeerAfterRun(peer, fdBefore, o);
}

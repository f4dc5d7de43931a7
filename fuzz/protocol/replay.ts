/**
 * Replays a `protocol` reproducer: the recorded steps, byte for byte with fresh fds of the
 * recorded kinds, on a fresh connection to the peer, then every oracle — and says whether the
 * recorded failure (or another one) happens again.
 * @module
 */
import type { Repro } from '../replay/index.js';
import { reproBytes } from '../replay/index.js';
import type { Finding } from '../campaign/finding.js';
import { restartPeer, type FuzzPeer } from '../peer/fuzz-peer.js';
import { runSteps } from './run-steps.js';
import { unpackSteps, type StoredStep } from './script.js';

/** The outcome of a replay. */
export interface ProtocolReplayResult {
  /** Some failure happened. */
  readonly reproduced: boolean;
  /** It is the recorded kind of failure. */
  readonly sameKind: boolean;
  readonly finding?: Finding;
}

/** Replays `repro` against `peer` (started). Restarts the peer afterwards when it failed. */
export async function replayProtocol(repro: Repro, peer: FuzzPeer): Promise<ProtocolReplayResult> {
  const p = repro.params as { steps?: StoredStep[]; replyTimeoutMs?: number; liveness?: boolean; traffic?: boolean };
  if (!Array.isArray(p.steps)) throw new RangeError('the reproducer has no params.steps');
  const steps = unpackSteps(p.steps, reproBytes(repro));
  if (peer.alive() === false) await restartPeer(peer);
  const finding = await runSteps(peer, steps, { replyTimeoutMs: p.replyTimeoutMs ?? 2000, liveness: p.liveness ?? true, traffic: p.traffic ?? peer.loopingNet });
  if (finding) await restartPeer(peer);
  return { reproduced: finding !== undefined, sameKind: finding?.kind === repro.failure.kind, ...(finding ? { finding } : {}) };
}

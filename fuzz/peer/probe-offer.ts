/**
 * Learns what a peer offers, once per fuzz campaign (the session model's starting knowledge):
 * features, protocol features and ring count, over a throw-away session.
 * @module
 */
import { FrontendSession, probeBackend } from '../../fakes/frontend/index.js';
import type { PeerOffer } from '../arbitraries/session-model.js';
import { PeerUnavailableError, type FuzzPeer } from './fuzz-peer.js';

/** Ring count cap: the model addresses at most this many rings (valid ring refs). */
const MAX_MODEL_RINGS = 8;

/** Probes `peer` on a fresh connection. Throws {@link PeerUnavailableError} when that fails. */
export async function probeOffer(peer: FuzzPeer, timeoutMs: number): Promise<PeerOffer> {
  let session: FrontendSession | undefined;
  try {
    session = new FrontendSession(await peer.connect(timeoutMs), { replyTimeoutMs: timeoutMs });
    const p = await probeBackend(session, peer.deviceType);
    const rings = peer.deviceType === 'net' ? 2 * p.queues : p.queues;
    return { deviceType: peer.deviceType, features: BigInt(p.features.hex), protocolFeatures: BigInt(p.protocolFeatures.hex), rings: Math.max(1, Math.min(MAX_MODEL_RINGS, rings)) };
  } catch (err) {
    throw new PeerUnavailableError(`cannot probe ${peer.name}: ${(err as Error).message}`, { cause: err });
  } finally {
    session?.close();
  }
}

/**
 * `vhostlab fuzz protocol`: model-based fuzzing of a live back-end over its socket. Each run opens
 * a connection and executes a fast-check command sequence (fuzz/arbitraries/commands.ts: every
 * front-end request of the table, valid and subtly invalid, cuts inside a message, unknown codes)
 * against the session model; the oracles are crash, hang, fd growth and liveness afterwards
 * (campaign/oracles.ts). The peer is restarted after every finding, also while shrinking. A
 * finding is shrunk, replayed once to confirm it, and written as a `protocol` reproducer.
 * @module
 */
import fc from 'fast-check';
import { initialModel, type PeerOffer, type SessionModel } from '../arbitraries/session-model.js';
import { HEADER_SIZE, encodeHeader } from '../../fakes/wire/header.js';
import { FrontendRequest } from '../../fakes/wire/requests.js';
import { protocolCommands, type ProtocolCommand, type ProtocolCommandsConstraints } from '../arbitraries/commands.js';
import type { FuzzStep } from '../arbitraries/step.js';
import { runCampaign, budgetOptions, type CampaignBudget } from '../campaign/run-campaign.js';
import type { KnownHit } from '../campaign/known.js';
import { Finding, isFinding, type FindingKind } from '../campaign/finding.js';
import { checkPeerAfterRun, type AfterRunOptions } from '../campaign/oracles.js';
import { probeOffer } from '../peer/probe-offer.js';
import { restartPeer, type FuzzPeer } from '../peer/fuzz-peer.js';
import { writeRepro, ReproKind } from '../replay/index.js';
import { openRunConnection, runSteps } from './run-steps.js';
import { describeSteps, packSteps } from './script.js';

/** Options of {@link fuzzProtocol}. */
export interface ProtocolFuzzOptions extends CampaignBudget {
  /** The peer, already started. */
  readonly peer: FuzzPeer;
  /** fast-check seed (default: random). */
  readonly seed?: number;
  /** Most commands per run (default 40). */
  readonly maxCommands?: number;
  /** Time-out of an owed reply and of a fresh connection (default 2000 ms). */
  readonly replyTimeoutMs?: number;
  /** Liveness check after each run (default true). */
  readonly liveness?: boolean;
  /** Traffic in the liveness check (default: when the peer loops). */
  readonly traffic?: boolean;
  /** fd growth tolerated per run (default 2). */
  readonly fdTolerance?: number;
  /** Where the reproducer goes (none written when undefined). */
  readonly outDir?: string;
  /** Command pool options. */
  readonly commands?: ProtocolCommandsConstraints;
  /** How the peer was started, recorded in the reproducer so `fuzz --replay` can start it again. */
  readonly peerSpec?: unknown;
}

/** A protocol finding. */
export interface ProtocolFinding {
  readonly kind: FindingKind;
  readonly summary: string;
  /** The shrunk sequence's steps as sent. */
  readonly steps: readonly FuzzStep[];
  /** The shrunk command sequence, fast-check's rendering. */
  readonly commands: string;
  readonly path: string;
  readonly execsToFind: number;
  readonly timeToFindMs: number;
  readonly shrinks: number;
  /** Commands before shrinking / after. */
  readonly unshrunkLength: number;
  /** Whether replaying the recorded steps on a fresh peer fails again. */
  readonly replays: boolean;
  readonly reproPath?: string;
}

/** The outcome of {@link fuzzProtocol}. */
export interface ProtocolFuzzResult {
  readonly seed: number;
  readonly offer: PeerOffer;
  readonly execs: number;
  readonly searchExecs: number;
  readonly execsPerSec: number;
  readonly elapsedMs: number;
  /** Known finding classes met and passed over (`--known`). */
  readonly known: readonly KnownHit[];
  readonly finding?: ProtocolFinding;
}

const stepsOf = new WeakMap<Finding, readonly FuzzStep[]>();

/** Runs the protocol fuzzer. Throws PeerUnavailableError when the peer cannot be reached at all. */
export async function fuzzProtocol(o: ProtocolFuzzOptions): Promise<ProtocolFuzzResult> {
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fff_ffff);
  const replyTimeoutMs = o.replyTimeoutMs ?? 2000;
  const peer = o.peer;
  const offer = await probeOffer(peer, Math.max(replyTimeoutMs, 5000));
  const after: AfterRunOptions = { replyTimeoutMs, liveness: o.liveness ?? true, traffic: o.traffic ?? peer.loopingNet, fdTolerance: o.fdTolerance ?? 2 };
  const commands = fc.commands(protocolCommands({ maxRings: offer.rings, ...o.commands }), { maxCommands: o.maxCommands ?? 40, size: 'max' });
  let needsRestart = false;

  const execute = async (cmds: Iterable<ProtocolCommand>): Promise<void> => {
    if (needsRestart || peer.alive() === false) {
      await restartPeer(peer);
      needsRestart = false;
    }
    const fdBefore = peer.fdCount();
    const sink = await openRunConnection(peer, replyTimeoutMs);
    if (isFinding(sink)) {
      needsRestart = true;
      stepsOf.set(sink, []);
      throw sink;
    }
    let finding: Finding | undefined;
    let model: SessionModel | undefined;
    try {
      await fc.asyncModelRun(() => ({ model: (model = initialModel(offer)), real: sink }), cmds);
      // After whatever was sent, a back-end whose framing is intact must still answer (or close):
      // one GET_FEATURES on the same connection (the hang oracle for malformed messages).
      if (model !== undefined && !model.closed && !model.desynced) await sink.send(probeStep());
    } catch (err) {
      if (!isFinding(err)) throw err;
      finding = err;
    } finally {
      sink.close();
    }
    finding ??= await checkPeerAfterRun(peer, fdBefore, after);
    if (finding) {
      needsRestart = true;
      stepsOf.set(finding, [...sink.steps]);
      throw finding;
    }
  };

  const r = await runCampaign({ arbitrary: commands, execute, seed, ...budgetOptions(o) });
  const base = { seed, offer, execs: r.execs, searchExecs: r.searchExecs, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs, known: r.known };
  if (!r.finding) return base;
  const f = r.finding;
  const steps = stepsOf.get(f.finding) ?? [];
  // Confirm on a fresh peer that the recorded bytes alone reproduce it.
  await restartPeer(peer);
  const again = await runSteps(peer, steps, after);
  await restartPeer(peer);
  const replays = again !== undefined && again.kind === f.finding.kind;
  let reproPath: string | undefined;
  if (o.outDir !== undefined) {
    const { stored, bytes } = packSteps(steps);
    reproPath = writeRepro(o.outDir, {
      kind: ReproKind.PROTOCOL, seed, path: f.path, target: peer.name,
      params: { maxCommands: o.maxCommands ?? 40, replyTimeoutMs, liveness: after.liveness, traffic: after.traffic, steps: stored, offer: offerJson(offer), replays, ...(o.peerSpec !== undefined ? { peer: o.peerSpec } : {}) },
      input: bytes, messages: describeSteps(steps),
      failure: { kind: f.finding.kind, summary: f.finding.summary, ...(f.finding.detail[0] ? { stderr: f.finding.detail[0].slice(-2000) } : {}) },
    });
  }
  return {
    ...base,
    finding: {
      kind: f.finding.kind, summary: f.finding.summary, steps, commands: String(f.input), path: f.path,
      execsToFind: f.execsToFind, timeToFindMs: f.timeToFindMs, shrinks: f.shrinks,
      unshrunkLength: [...(f.unshrunk as Iterable<unknown>)].length, replays, ...(reproPath ? { reproPath } : {}),
    },
  };
}

/** GET_FEATURES, which every back-end answers in every state: the end-of-run probe. */
export function probeStep(): FuzzStep {
  return { label: 'GET_FEATURES (end-of-run probe)', request: FrontendRequest.GET_FEATURES, bytes: encodeHeader({ request: FrontendRequest.GET_FEATURES, flags: 0x1, size: 0 }, new Uint8Array(HEADER_SIZE)), fds: [], reply: 'expect' };
}

/** The offer as JSON-friendly hex strings. */
export const offerJson = (offer: PeerOffer): Record<string, unknown> => ({
  deviceType: offer.deviceType, features: `0x${offer.features.toString(16)}`, protocolFeatures: `0x${offer.protocolFeatures.toString(16)}`, rings: offer.rings,
});

/**
 * `vhostlab fuzz reconnect`: random disconnects and kills of either side at random points, then
 * reconnect and resume (scenario.ts, run-scenario.ts), as a seeded, bounded, shrinking campaign.
 * The peer is restarted after every finding. A finding is written as a `reconnect` reproducer
 * holding the shrunk scenario, which `vhostlab fuzz --replay` runs again.
 * @module
 */
import { runCampaign, budgetOptions, type CampaignBudget } from '../campaign/run-campaign.js';
import type { KnownHit } from '../campaign/known.js';
import { Finding, isFinding, type FindingKind } from '../campaign/finding.js';
import { restartPeer, type FuzzPeer } from '../peer/fuzz-peer.js';
import { writeRepro, ReproKind, type Repro } from '../replay/index.js';
import { runReconnectScenario } from './run-scenario.js';
import { describeCycle, reconnectScenario, type ReconnectAction, type ReconnectScenario } from './scenario.js';

/** Options of {@link fuzzReconnect}. */
export interface ReconnectFuzzOptions extends CampaignBudget {
  /** The peer, started. */
  readonly peer: FuzzPeer;
  readonly seed?: number;
  /** Reply and reconnect time-out (default 3000 ms). */
  readonly replyTimeoutMs?: number;
  /** Most cycles per scenario (default 3). */
  readonly maxCycles?: number;
  readonly outDir?: string;
  readonly peerSpec?: unknown;
}

/** A reconnect finding. */
export interface ReconnectFinding {
  readonly kind: FindingKind;
  readonly summary: string;
  readonly scenario: ReconnectScenario;
  readonly lines: readonly string[];
  readonly path: string;
  readonly shrinks: number;
  readonly replays: boolean;
  readonly reproPath?: string;
}

/** The outcome of {@link fuzzReconnect}. */
export interface ReconnectFuzzResult {
  readonly seed: number;
  readonly execs: number;
  readonly searchExecs: number;
  readonly execsPerSec: number;
  readonly elapsedMs: number;
  /** Known finding classes met and passed over (`--known`). */
  readonly known: readonly KnownHit[];
  readonly finding?: ReconnectFinding;
}

/** Actions that make sense for `peer`. */
export const actionsFor = (peer: FuzzPeer): ReconnectAction[] =>
  peer.mode === 'client' ? ['close', 'graceful', 'kill-backend', 'relisten'] : ['close', 'graceful', 'kill-backend'];

/** Runs one scenario with a restart after a finding. */
async function runOnce(peer: FuzzPeer, s: ReconnectScenario, replyTimeoutMs: number): Promise<Finding | undefined> {
  if (peer.alive() === false) await restartPeer(peer);
  try {
    await runReconnectScenario(peer, s, { replyTimeoutMs });
    return undefined;
  } catch (err) {
    if (!isFinding(err)) throw err;
    await restartPeer(peer);
    return err;
  }
}

/** Runs the reconnect fuzzer. */
export async function fuzzReconnect(o: ReconnectFuzzOptions): Promise<ReconnectFuzzResult> {
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fff_ffff);
  const replyTimeoutMs = o.replyTimeoutMs ?? 3000;
  const peer = o.peer;
  const r = await runCampaign({
    arbitrary: reconnectScenario({ maxCycles: o.maxCycles ?? 3, actions: actionsFor(peer) }),
    execute: async (s) => {
      const f = await runOnce(peer, s, replyTimeoutMs);
      if (f) throw f;
    },
    seed, ...budgetOptions(o),
  });
  const base = { seed, execs: r.execs, searchExecs: r.searchExecs, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs, known: r.known };
  if (!r.finding) return base;
  const f = r.finding;
  const again = await runOnce(peer, f.input, replyTimeoutMs);
  const replays = again?.kind === f.finding.kind;
  const lines = [...f.input.cycles.map(describeCycle), `then ${f.input.finalFrames} frames`];
  let reproPath: string | undefined;
  if (o.outDir !== undefined) {
    const json = JSON.stringify(f.input);
    reproPath = writeRepro(o.outDir, {
      kind: ReproKind.RECONNECT, seed, path: f.path, target: peer.name,
      params: { scenario: f.input, replyTimeoutMs, replays, ...(o.peerSpec !== undefined ? { peer: o.peerSpec } : {}) },
      input: new TextEncoder().encode(json),
      messages: lines.map((l, i) => ({ request: `cycle ${i + 1}`, code: 0, flags: 0, size: 0, detail: l })),
      failure: { kind: f.finding.kind, summary: f.finding.summary, ...(f.finding.detail.length ? { stderr: f.finding.detail.join('\n').slice(-2000) } : {}) },
    });
  }
  return { ...base, finding: { kind: f.finding.kind, summary: f.finding.summary, scenario: f.input, lines, path: f.path, shrinks: f.shrinks, replays, ...(reproPath ? { reproPath } : {}) } };
}

/** Replays a `reconnect` reproducer on `peer` (started). */
export async function replayReconnect(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; finding?: Finding }> {
  const p = repro.params as { scenario?: ReconnectScenario; replyTimeoutMs?: number };
  if (p.scenario === undefined || !Array.isArray(p.scenario.cycles)) throw new RangeError('the reproducer has no params.scenario');
  const f = await runOnce(peer, p.scenario, p.replyTimeoutMs ?? 3000);
  return { reproduced: f !== undefined, ...(f ? { finding: f } : {}) };
}

/**
 * `vhostlab fuzz memory`: memory-table replacements and ADD/REM_MEM_REG sequences while the rings
 * run (scenario.ts, run-memory.ts), as a seeded, bounded, shrinking campaign; findings are
 * written as `memory` reproducers holding the shrunk scenario.
 * @module
 */
import { runCampaign, budgetOptions, type CampaignBudget } from '../campaign/run-campaign.js';
import type { KnownHit } from '../campaign/known.js';
import { isFinding, type Finding, type FindingKind } from '../campaign/finding.js';
import { restartPeer, type FuzzPeer } from '../peer/fuzz-peer.js';
import { writeRepro, ReproKind, type Repro } from '../replay/index.js';
import { runMemoryScenario } from './run-memory.js';
import { describeOp, memoryScenario, type MemoryScenario } from './scenario.js';

/** Options of {@link fuzzMemory}. */
export interface MemoryFuzzOptions extends CampaignBudget {
  readonly peer: FuzzPeer;
  readonly seed?: number;
  readonly replyTimeoutMs?: number;
  readonly maxOps?: number;
  readonly outDir?: string;
  readonly peerSpec?: unknown;
}

/** The outcome of {@link fuzzMemory}. */
export interface MemoryFuzzResult {
  readonly seed: number;
  readonly execs: number;
  readonly searchExecs: number;
  readonly execsPerSec: number;
  readonly elapsedMs: number;
  /** Known finding classes met and passed over (`--known`). */
  readonly known: readonly KnownHit[];
  readonly finding?: { readonly kind: FindingKind; readonly summary: string; readonly scenario: MemoryScenario; readonly lines: readonly string[]; readonly replays: boolean; readonly reproPath?: string };
}

async function runOnce(peer: FuzzPeer, s: MemoryScenario, replyTimeoutMs: number): Promise<Finding | undefined> {
  if (peer.alive() === false) await restartPeer(peer);
  try {
    await runMemoryScenario(peer, s, { replyTimeoutMs });
    return undefined;
  } catch (err) {
    if (!isFinding(err)) throw err;
    await restartPeer(peer);
    return err;
  }
}

/** Runs the memory fuzzer. */
export async function fuzzMemory(o: MemoryFuzzOptions): Promise<MemoryFuzzResult> {
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fff_ffff);
  const replyTimeoutMs = o.replyTimeoutMs ?? 3000;
  const r = await runCampaign({
    arbitrary: memoryScenario({ maxOps: o.maxOps ?? 8 }),
    execute: async (s) => {
      const f = await runOnce(o.peer, s, replyTimeoutMs);
      if (f) throw f;
    },
    seed, ...budgetOptions(o),
  });
  const base = { seed, execs: r.execs, searchExecs: r.searchExecs, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs, known: r.known };
  if (!r.finding) return base;
  const f = r.finding;
  const again = await runOnce(o.peer, f.input, replyTimeoutMs);
  const replays = again?.kind === f.finding.kind;
  const lines = [...f.input.ops.map(describeOp), `then ${f.input.finalFrames} frames`];
  let reproPath: string | undefined;
  if (o.outDir !== undefined) {
    reproPath = writeRepro(o.outDir, {
      kind: ReproKind.MEMORY, seed, path: f.path, target: o.peer.name,
      params: { scenario: f.input, replyTimeoutMs, replays, ...(o.peerSpec !== undefined ? { peer: o.peerSpec } : {}) },
      input: new TextEncoder().encode(JSON.stringify(f.input)),
      messages: lines.map((l, i) => ({ request: `op ${i + 1}`, code: 0, flags: 0, size: 0, detail: l })),
      failure: { kind: f.finding.kind, summary: f.finding.summary, ...(f.finding.detail.length ? { stderr: f.finding.detail.join('\n').slice(-2000) } : {}) },
    });
  }
  return { ...base, finding: { kind: f.finding.kind, summary: f.finding.summary, scenario: f.input, lines, replays, ...(reproPath ? { reproPath } : {}) } };
}

/** Replays a `memory` reproducer on `peer` (started). */
export async function replayMemory(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; finding?: Finding }> {
  const p = repro.params as { scenario?: MemoryScenario; replyTimeoutMs?: number };
  if (p.scenario === undefined || !Array.isArray(p.scenario.ops)) throw new RangeError('the reproducer has no params.scenario');
  const f = await runOnce(peer, p.scenario, p.replyTimeoutMs ?? 3000);
  return { reproduced: f !== undefined, ...(f ? { finding: f } : {}) };
}

/**
 * `vhostlab fuzz datapath`: hand-written descriptor tables, indirect tables, avail entries and
 * avail index jumps on a live net back-end's split and packed rings (scenario.ts, run-datapath.ts,
 * run-packed.ts), as a seeded, bounded, shrinking campaign; findings are written as `datapath`
 * reproducers holding the shrunk scenario, which is symbolic and so replays on any peer.
 * @module
 */
import { runCampaign, budgetOptions, type CampaignBudget } from '../campaign/run-campaign.js';
import type { KnownHit } from '../campaign/known.js';
import { isFinding, type Finding, type FindingKind } from '../campaign/finding.js';
import { restartPeer, type FuzzPeer } from '../peer/fuzz-peer.js';
import { writeRepro, ReproKind, type Repro } from '../replay/index.js';
import { VirtioFeature, hasFeature } from '../../fakes/wire/index.js';
import { probeOffer } from '../peer/probe-offer.js';
import { runDatapathScenario } from './run-datapath.js';
import { PackedNotOfferedError } from './run-packed.js';
import { datapathScenario, describeScenario, type DatapathScenario, type RingLayout } from './scenario.js';

/** Options of {@link fuzzDatapath}. */
export interface DatapathFuzzOptions extends CampaignBudget {
  readonly peer: FuzzPeer;
  readonly seed?: number;
  readonly replyTimeoutMs?: number;
  /**
   * Ring layouts to fuzz (default: split, plus packed when the peer offers RING_PACKED). Asking
   * for packed on a peer that does not offer it throws {@link PackedNotOfferedError}.
   */
  readonly layouts?: readonly RingLayout[];
  /** Most descriptors in the ring table per run (default 16, the ring size). */
  readonly maxDescs?: number;
  /** How long the device gets to act on the chains (default 60 ms). */
  readonly quietMs?: number;
  readonly outDir?: string;
  readonly peerSpec?: unknown;
}

/** The outcome of {@link fuzzDatapath}. */
export interface DatapathFuzzResult {
  readonly seed: number;
  /** The layouts the campaign drew scenarios from. */
  readonly layouts: readonly RingLayout[];
  readonly execs: number;
  readonly searchExecs: number;
  readonly execsPerSec: number;
  readonly elapsedMs: number;
  /** Known finding classes met and passed over (`--known`). */
  readonly known: readonly KnownHit[];
  readonly finding?: { readonly kind: FindingKind; readonly summary: string; readonly scenario: DatapathScenario; readonly lines: readonly string[]; readonly replays: boolean; readonly reproPath?: string };
}

async function runOnce(peer: FuzzPeer, s: DatapathScenario, replyTimeoutMs: number, quietMs: number | undefined): Promise<Finding | undefined> {
  if (peer.alive() === false) await restartPeer(peer);
  try {
    await runDatapathScenario(peer, s, { replyTimeoutMs, ...(quietMs !== undefined ? { quietMs } : {}) });
    return undefined;
  } catch (err) {
    if (!isFinding(err)) throw err;
    await restartPeer(peer);
    return err;
  }
}

/** The layouts to fuzz on `peer`: those asked for (packed checked against the offer), or split plus packed when offered. */
async function layoutsFor(peer: FuzzPeer, asked: readonly RingLayout[] | undefined, timeoutMs: number): Promise<readonly RingLayout[]> {
  if (asked !== undefined && !asked.includes('packed')) return asked;
  if (peer.alive() === false) await restartPeer(peer);
  const packed = hasFeature((await probeOffer(peer, timeoutMs)).features, VirtioFeature.RING_PACKED);
  if (asked !== undefined) {
    if (!packed) throw new PackedNotOfferedError(`${peer.name} does not offer VIRTIO_F_RING_PACKED (bit 34): packed data-path scenarios cannot run on it`);
    return asked;
  }
  return packed ? ['split', 'packed'] : ['split'];
}

/** Runs the data-path fuzzer. */
export async function fuzzDatapath(o: DatapathFuzzOptions): Promise<DatapathFuzzResult> {
  const seed = o.seed ?? Math.floor(Math.random() * 0x7fff_ffff);
  const replyTimeoutMs = o.replyTimeoutMs ?? 3000;
  const layouts = await layoutsFor(o.peer, o.layouts, replyTimeoutMs);
  const r = await runCampaign({
    arbitrary: datapathScenario({ layouts, ...(o.maxDescs !== undefined ? { maxDescs: o.maxDescs } : {}) }),
    execute: async (s) => {
      const f = await runOnce(o.peer, s, replyTimeoutMs, o.quietMs);
      if (f) throw f;
    },
    seed, ...budgetOptions(o),
  });
  const base = { seed, layouts, execs: r.execs, searchExecs: r.searchExecs, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs, known: r.known };
  if (!r.finding) return base;
  const f = r.finding;
  const again = await runOnce(o.peer, f.input, replyTimeoutMs, o.quietMs);
  const replays = again?.kind === f.finding.kind;
  const lines = describeScenario(f.input);
  let reproPath: string | undefined;
  if (o.outDir !== undefined) {
    reproPath = writeRepro(o.outDir, {
      kind: ReproKind.DATAPATH, seed, path: f.path, target: o.peer.name,
      params: { scenario: f.input, replyTimeoutMs, ...(o.quietMs !== undefined ? { quietMs: o.quietMs } : {}), replays, ...(o.peerSpec !== undefined ? { peer: o.peerSpec } : {}) },
      input: new TextEncoder().encode(JSON.stringify(f.input)),
      messages: lines.map((l, i) => ({ request: `step ${i + 1}`, code: 0, flags: 0, size: 0, detail: l })),
      failure: { kind: f.finding.kind, summary: f.finding.summary, ...(f.finding.detail.length ? { stderr: f.finding.detail.join('\n').slice(-2000) } : {}) },
    });
  }
  return { ...base, finding: { kind: f.finding.kind, summary: f.finding.summary, scenario: f.input, lines, replays, ...(reproPath ? { reproPath } : {}) } };
}

/** Replays a `datapath` reproducer on `peer` (started). */
export async function replayDatapath(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; finding?: Finding }> {
  const p = repro.params as { scenario?: DatapathScenario; replyTimeoutMs?: number; quietMs?: number };
  if (p.scenario === undefined || !Array.isArray(p.scenario.descs) || !Array.isArray(p.scenario.heads)) throw new RangeError('the reproducer has no params.scenario');
  const f = await runOnce(peer, p.scenario, p.replyTimeoutMs ?? 3000, p.quietMs);
  return { reproduced: f !== undefined, ...(f ? { finding: f } : {}) };
}

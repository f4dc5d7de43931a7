/**
 * `vhostlab fuzz memory`: memory-table replacements and ADD/REM_MEM_REG sequences while the rings
 * run (fuzz/memory). Exit 0 nothing found, 1 found, 2 bad usage, 3 the peer
 * cannot be started or reached.
 * @module
 */
import type { Command } from 'commander';
import { fuzzMemory, replayMemory } from '../../../fuzz/memory/index.js';
import type { FuzzPeer, ProcessPeer } from '../../../fuzz/peer/index.js';
import type { Repro } from '../../../fuzz/replay/index.js';
import { budgetOptions } from '../../../fuzz/campaign/run-campaign.js';
import type { FuzzIo } from './io.js';
import { addLiveOptions, runLive, type LiveCliOptions } from './live.js';

/** Replays a memory reproducer on `peer`. */
export async function replayMemoryOn(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; summary?: string }> {
  const r = await replayMemory(repro, peer);
  return { reproduced: r.reproduced, ...(r.finding ? { summary: `${r.finding.kind}: ${r.finding.summary}` } : {}) };
}

/** Registers `memory` under the `fuzz` group. */
export function registerMemory(fuzz: Command, io: FuzzIo): void {
  addLiveOptions(fuzz.command('memory').description('memory-table replacements and ADD/REM_MEM_REG sequences while the rings run'))
    .option('--max-ops <n>', 'most operations per run', '8')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
Rings live in one region, packet buffers in another, which each run replaces while the rings
keep running (same GPAs, a new memfd at a new offset, contents copied; SET_MEM_TABLE, or
REM_MEM_REG + ADD_MEM_REG when CONFIGURE_MEM_SLOTS is offered), with extra regions added and
removed around it. Oracles: every frame comes back intact (it was read from and written to the
current memory), canaries in replaced memfds stay intact, no descriptor completed twice, no
crash or hang.

Example:
  vhostlab fuzz memory --profile reference --seed 1 --runs 100`)
    .action(async (o: LiveCliOptions & { maxOps: string }) => {
      await runLive('memory', 'memory', o, io, async (peer, b) => {
        const r = await fuzzMemory({
          peer, seed: b.seed, ...budgetOptions(b),
          replyTimeoutMs: Math.max(b.replyTimeoutMs, 1000), maxOps: Number(o.maxOps) || 8, outDir: b.outDir,
          peerSpec: (peer as ProcessPeer).spec,
        });
        const f = r.finding;
        return {
          seed: r.seed, execs: r.execs, searchExecs: r.searchExecs, known: r.known, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs,
          ...(f ? { finding: { kind: f.kind, summary: f.summary, length: f.scenario.ops.length, replays: f.replays, lines: f.lines, ...(f.reproPath ? { reproPath: f.reproPath } : {}) } } : {}),
        };
      }, replayMemoryOn);
    });
}

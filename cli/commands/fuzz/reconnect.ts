/**
 * `vhostlab fuzz reconnect`: random disconnects and kills of either side at random points, then
 * reconnect and resume (fuzz/reconnect). Exit 0 nothing found, 1 found, 2 bad usage, 3 the peer
 * cannot be started or reached.
 * @module
 */
import type { Command } from 'commander';
import { fuzzReconnect, replayReconnect } from '../../../fuzz/reconnect/index.js';
import type { FuzzPeer, ProcessPeer } from '../../../fuzz/peer/index.js';
import type { Repro } from '../../../fuzz/replay/index.js';
import { budgetOptions } from '../../../fuzz/campaign/run-campaign.js';
import type { FuzzIo } from './io.js';
import { addLiveOptions, runLive, type LiveCliOptions } from './live.js';

/** Replays a reconnect reproducer on `peer`. */
export async function replayReconnectOn(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; summary?: string }> {
  const r = await replayReconnect(repro, peer);
  return { reproduced: r.reproduced, ...(r.finding ? { summary: `${r.finding.kind}: ${r.finding.summary}` } : {}) };
}

/** Registers `reconnect` under the `fuzz` group. */
export function registerReconnect(fuzz: Command, io: FuzzIo): void {
  addLiveOptions(fuzz.command('reconnect').description('random disconnects and kills at random points, then reconnect and resume'))
    .option('--max-cycles <n>', 'most disconnect cycles per run', '3')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
Each run brings a net device up, sends numbered frames and disconnects at a random point (with
descriptors in flight, idle, or inside the next start sequence: mid-message, inside
SET_MEM_TABLE, between SET_VRING_KICK and SET_VRING_ENABLE), by closing the socket, by stopping
the rings first (GET_VRING_BASE), by killing and restarting the back-end, or (client mode) by
no longer listening for a while; then it reconnects and resumes with SET_VRING_BASE from
GET_VRING_BASE or the used index. Oracles: the session comes back; no descriptor lost or
completed twice; traffic resumes; no frame corrupted.

Examples:
  vhostlab fuzz reconnect --profile reference --seed 1 --runs 50
  vhostlab fuzz reconnect --profile reference-client --time 120`)
    .action(async (o: LiveCliOptions & { maxCycles: string }) => {
      await runLive('reconnect', 'reconnect', o, io, async (peer, b) => {
        const r = await fuzzReconnect({
          peer, seed: b.seed, ...budgetOptions(b),
          replyTimeoutMs: Math.max(b.replyTimeoutMs, 1000), maxCycles: Number(o.maxCycles) || 3, outDir: b.outDir,
          peerSpec: (peer as ProcessPeer).spec,
        });
        const f = r.finding;
        return {
          seed: r.seed, execs: r.execs, searchExecs: r.searchExecs, known: r.known, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs,
          ...(f ? { finding: { kind: f.kind, summary: f.summary, length: f.scenario.cycles.length, replays: f.replays, lines: f.lines, ...(f.reproPath ? { reproPath: f.reproPath } : {}) } } : {}),
        };
      }, replayReconnectOn);
    });
}

/**
 * `vhostlab fuzz protocol`: model-based fuzzing of a live back-end's message handling
 * (fuzz/protocol). Exit 0 nothing found, 1 found (reproducer path printed), 2 bad usage, 3 the
 * peer cannot be started or reached.
 * @module
 */
import type { Command } from 'commander';
import { fuzzProtocol, replayProtocol } from '../../../fuzz/protocol/index.js';
import type { FuzzPeer, ProcessPeer } from '../../../fuzz/peer/index.js';
import type { Repro } from '../../../fuzz/replay/index.js';
import { budgetOptions } from '../../../fuzz/campaign/run-campaign.js';
import type { FuzzIo } from './io.js';
import { addLiveOptions, runLive, type LiveCliOptions } from './live.js';

/** Replays a protocol reproducer on `peer`, for `--replay` and `--corpus`. */
export async function replayProtocolOn(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; summary?: string }> {
  const r = await replayProtocol(repro, peer);
  return { reproduced: r.reproduced, ...(r.finding ? { summary: `${r.finding.kind}: ${r.finding.summary}` } : {}) };
}

/** Registers `protocol` under the `fuzz` group. */
export function registerProtocol(fuzz: Command, io: FuzzIo): void {
  addLiveOptions(fuzz.command('protocol').description('model-based fuzzing of a live back-end over its socket'))
    .option('--max-commands <n>', 'most messages per run', '40')
    .option('--no-liveness', 'skip the fresh-session check after each run')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
Each run opens a connection and sends a sequence of front-end messages drawn from the request
table (valid and subtly invalid: sizes, flags, fd counts, ring indices, addresses, queue sizes,
memory tables; cuts inside a message; unknown codes), with preconditions from a session model.
Oracles: crash, hang (an owed reply neither sent nor the connection closed in --timeout ms, or
a fresh connection not served), fd growth of a local back-end, and liveness afterwards (a fresh
session starts; traffic flows through a looping net back-end).

Examples:
  vhostlab fuzz protocol --profile reference --seed 1 --runs 500
  vhostlab fuzz protocol --backend 'vhostlab backend --socket {socket}' --mode server --time 60`)
    .action(async (o: LiveCliOptions & { maxCommands: string; liveness: boolean }) => {
      await runLive('protocol', 'protocol', o, io, async (peer, b) => {
        const r = await fuzzProtocol({
          peer, seed: b.seed, ...budgetOptions(b),
          replyTimeoutMs: b.replyTimeoutMs, maxCommands: Number(o.maxCommands) || 40, liveness: o.liveness, outDir: b.outDir,
          peerSpec: (peer as ProcessPeer).spec,
        });
        const f = r.finding;
        return {
          seed: r.seed, execs: r.execs, searchExecs: r.searchExecs, known: r.known, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs,
          ...(f ? { finding: { kind: f.kind, summary: f.summary, length: f.steps.length, replays: f.replays, lines: f.steps.map((s) => s.label), ...(f.reproPath ? { reproPath: f.reproPath } : {}) } } : {}),
        };
      }, replayProtocolOn);
    });
}

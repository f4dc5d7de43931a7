/**
 * `vhostlab fuzz datapath`: malformed descriptor tables, indirect tables and avail indices on a
 * live net back-end's rings (fuzz/datapath). Exit 0 nothing found, 1 found, 2 bad usage, 3 the
 * peer cannot be started or reached.
 * @module
 */
import type { Command } from 'commander';
import { PackedNotOfferedError, fuzzDatapath, replayDatapath, type RingLayout } from '../../../fuzz/datapath/index.js';
import type { FuzzPeer, ProcessPeer } from '../../../fuzz/peer/index.js';
import type { Repro } from '../../../fuzz/replay/index.js';
import { UsageError } from '../../exit.js';
import { budgetOptions } from '../../../fuzz/campaign/run-campaign.js';
import type { FuzzIo } from './io.js';
import { addLiveOptions, runLive, type LiveCliOptions } from './live.js';

/** Replays a data-path reproducer on `peer`. */
export async function replayDatapathOn(repro: Repro, peer: FuzzPeer): Promise<{ reproduced: boolean; summary?: string }> {
  const r = await replayDatapath(repro, peer);
  return { reproduced: r.reproduced, ...(r.finding ? { summary: `${r.finding.kind}: ${r.finding.summary}` } : {}) };
}

/** `--rings` values and the layouts they fuzz (`auto` is left to the campaign, which asks the peer). */
const RING_CHOICES = new Map<string, readonly RingLayout[]>([['split', ['split']], ['packed', ['packed']], ['both', ['split', 'packed']]]);

function intOption(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`fuzz datapath: --${name} wants an integer from ${min} to ${max}, got '${v}'`);
  return n;
}

/** Registers `datapath` under the `fuzz` group. */
export function registerDatapath(fuzz: Command, io: FuzzIo): void {
  addLiveOptions(fuzz.command('datapath').description('malformed descriptor chains, indirect tables and avail indices on a net back-end\'s rings'))
    .option('--rings <layout>', 'ring layout: split, packed, both, or auto (split, plus packed when the peer offers RING_PACKED)', 'auto')
    .option('--max-descs <n>', 'most descriptors written into the ring table per run (1-16)', '16')
    .option('--quiet-ms <ms>', 'how long the device gets to act on the chains before the oracles look', '60')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
Each run opens a fresh session on net pair 0 (16-entry split or packed rings, INDIRECT_DESC
when offered), fills free guest memory with canaries, writes descriptors, indirect tables, avail
entries and sometimes an avail index jump by hand on the TX ring (after a warm-up) or on an
empty RX ring (then sends one frame into it), and kicks. Packed scenarios write the
descriptors into the slots from the ring's avail position, across the wrap, with each slot's
AVAIL/USED bits right for its lap unless the scenario flips them, and store the first slot's
flags last; the buffer id is fuzzed in place of next. Descriptors point into a scratch
area, at indirect tables, or at the edges of guest memory (0, before the region, its last 16
bytes, its end, 2^64 - 16); lengths, flags, next indices and the TX net header's offload
fields are fuzzed. The device may drop, return empty, stop the ring or close: the oracles only
ask that it does not crash, write guest memory outside writable in-bounds descriptors, report
used elements for heads (packed: buffer ids) never posted or with more bytes than the chain can
hold, stop answering, or fail a fresh session with traffic afterwards.

Examples:
  vhostlab fuzz datapath --profile reference --seed 1 --runs 200
  vhostlab fuzz datapath --profile dpdk-server --rings packed --time 60`)
    .action(async (o: LiveCliOptions & { maxDescs: string; quietMs: string; rings: string }) => {
      const layouts = RING_CHOICES.get(o.rings);
      if (layouts === undefined && o.rings !== 'auto') throw new UsageError(`fuzz datapath: --rings wants split, packed, both or auto, got '${o.rings}'`);
      const maxDescs = intOption('max-descs', o.maxDescs, 1, 16);
      const quietMs = intOption('quiet-ms', o.quietMs, 1, 60_000);
      await runLive('datapath', 'datapath', o, io, async (peer, b) => {
        if (peer.deviceType !== 'net' || !peer.loopingNet) {
          throw new UsageError(`fuzz datapath: the peer is ${peer.deviceType === 'net' ? 'a net device that does not loop frames back' : `a ${peer.deviceType} device`}; the data-path fuzzer needs a looping net back-end (its warm-up and liveness oracles send frames round the pair)`);
        }
        const r = await fuzzDatapath({
          peer, seed: b.seed, ...(layouts ? { layouts } : {}), ...budgetOptions(b),
          replyTimeoutMs: Math.max(b.replyTimeoutMs, 1000), maxDescs, quietMs, outDir: b.outDir,
          peerSpec: (peer as ProcessPeer).spec,
        }).catch((err: unknown) => {
          if (err instanceof PackedNotOfferedError) throw new UsageError(`fuzz datapath: ${err.message}; use --rings split or auto`);
          throw err;
        });
        const f = r.finding;
        return {
          seed: r.seed, details: { layouts: r.layouts }, execs: r.execs, searchExecs: r.searchExecs, known: r.known, execsPerSec: r.execsPerSec, elapsedMs: r.elapsedMs,
          ...(f ? { finding: { kind: f.kind, summary: f.summary, length: f.scenario.descs.length, replays: f.replays, lines: f.lines, ...(f.reproPath ? { reproPath: f.reproPath } : {}) } } : {}),
        };
      }, replayDatapathOn);
    });
}

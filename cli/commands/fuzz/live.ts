/**
 * What `fuzz protocol`, `fuzz reconnect` and `fuzz memory` share: the peer options (`--profile P`
 * or `--backend 'CMD {socket}' --mode server|client [--type T]`), the budget (`--seed`, `--runs` |
 * `--time`), `--out`, `--corpus`, `--timeout`, `--no-shrink`, `--json`; starting and stopping the
 * peer; replaying the corpus first; progress with execs/s on stderr; and the exit codes (0 nothing
 * found, 1 found, 2 bad usage, 3 the peer cannot be started or reached).
 * @module
 */
import type { Command } from 'commander';
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadProfile, adHocProfile, ProfileError } from '../../../conformance/profiles/load-profile.js';
import { ProcessPeer, isPeerUnavailableError, type FuzzPeer, type ProcessPeerSpec } from '../../../fuzz/peer/index.js';
import { type Repro, type ReproKindValue } from '../../../fuzz/replay/index.js';
import type { KnownHit } from '../../../fuzz/campaign/known.js';
import type { KnownOptions } from '../../../fuzz/campaign/run-campaign.js';
import { createProgress } from '../../../reports/progress.js';
import { ExitCode, UsageError } from '../../exit.js';
import type { FuzzIo } from './io.js';
import { collectKnown, corpusFiles, loadKnown } from './known-option.js';

/** Parsed common options. */
export interface LiveCliOptions {
  profile?: string;
  backend?: string;
  mode?: string;
  type: string;
  seed?: string;
  runs?: string;
  time?: string;
  out: string;
  corpus?: string;
  timeout: string;
  shrink: boolean;
  shrinkTime: string;
  known?: string[];
  json?: boolean;
}

/** The common options as numbers (and the known findings loaded, as campaign options). */
export interface LiveBudget extends KnownOptions {
  readonly seed: number;
  readonly runs?: number;
  readonly timeMs?: number;
  readonly replyTimeoutMs: number;
  readonly outDir: string;
  readonly noShrink: boolean;
  readonly shrinkTimeMs: number;
  readonly onProgress: (p: { phase: string; execs: number; execsPerSec: number }) => void;
}

/** What a fuzzer reports back to the CLI. */
export interface LiveOutcome {
  readonly seed: number;
  readonly execs: number;
  readonly searchExecs: number;
  readonly execsPerSec: number;
  readonly elapsedMs: number;
  /** Known finding classes met and passed over. */
  readonly known?: readonly KnownHit[];
  /** Fuzzer-specific facts about the campaign (datapath: the ring layouts drawn), shown and put in the JSON. */
  readonly details?: Readonly<Record<string, string | number | readonly string[]>>;
  readonly finding?: {
    readonly kind: string;
    readonly summary: string;
    readonly length: number;
    readonly reproPath?: string;
    readonly replays?: boolean;
    readonly lines: readonly string[];
  };
}

/** Adds the common options to a live fuzzer command. */
export function addLiveOptions(cmd: Command): Command {
  return cmd
    .option('--profile <p>', 'peer profile: a JSON file or a shipped name (reference, dpdk-testpmd, …)')
    .option('--backend <cmd>', "back-end command with {socket} (and {id}), e.g. 'vhostlab backend --socket {socket}'")
    .option('--mode <m>', 'with --backend: server (the back-end listens) or client (it connects)')
    .option('--type <t>', 'with --backend: device type', 'net')
    .option('--seed <n>', 'fast-check seed (default: random, printed)')
    .option('--runs <n>', 'runs to try (default 100)')
    .option('--time <s>', 'time budget in seconds (instead of --runs)')
    .option('--out <dir>', 'where reproducers go', './fuzz-findings/')
    .option('--corpus <dir>', 'corpus folder: its reproducers of this kind replay first; a finding is added')
    .option('--timeout <ms>', 'time an owed reply or a fresh connection may take before it is a hang', '2000')
    .option('--shrink-time <s>', 'time budget of the shrinking, in seconds', '60')
    .option('--known <path>', 'a reproducer (or a folder of them) of a bug already reported: findings of its class are counted and passed over, not reported (repeatable)', collectKnown)
    .option('--no-shrink', 'report the failing input as found');
}

function int(cmd: string, name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`fuzz ${cmd}: --${name} wants a whole number >= ${min}, got '${value}'`);
  return n;
}

/** The peer spec of the options. Throws UsageError. */
export function peerSpecOf(cmd: string, o: LiveCliOptions): ProcessPeerSpec {
  if ((o.profile === undefined) === (o.backend === undefined)) throw new UsageError(`fuzz ${cmd}: give --profile P or --backend 'CMD {socket}' --mode server|client`);
  try {
    if (o.profile !== undefined) {
      const p = loadProfile(o.profile);
      return { name: p.name, command: p.command, mode: p.mode, deviceType: p.deviceType, loopingNet: p.loopingNet, env: p.env, startupTimeoutMs: p.startupTimeoutMs, ...(p.restartPerCase ? { restartPerSession: true } : {}) };
    }
    if (o.mode === undefined) throw new UsageError(`fuzz ${cmd}: --backend needs --mode server|client`);
    const p = adHocProfile(o.backend!, o.mode, o.type);
    return { name: o.backend!, command: p.command, mode: p.mode, deviceType: p.deviceType, loopingNet: p.loopingNet, env: p.env, startupTimeoutMs: p.startupTimeoutMs };
  } catch (err) {
    if (err instanceof ProfileError) throw new UsageError(`fuzz ${cmd}: ${err.message}`);
    throw err;
  }
}

/**
 * Runs a live fuzzer from the CLI: checks options, starts the peer (exit 3 when it cannot),
 * replays the corpus, fuzzes, prints, sets the exit code, stops the peer.
 */
export async function runLive(
  cmd: string,
  kind: ReproKindValue,
  o: LiveCliOptions,
  io: FuzzIo,
  fuzz: (peer: FuzzPeer, budget: LiveBudget) => Promise<LiveOutcome>,
  replay: (repro: Repro, peer: FuzzPeer) => Promise<{ reproduced: boolean; summary?: string }>,
): Promise<void> {
  if (o.runs !== undefined && o.time !== undefined) throw new UsageError(`fuzz ${cmd}: give --runs or --time, not both`);
  const spec = peerSpecOf(cmd, o);
  // Before the peer starts: a bad --known path is a usage error, not a wasted start.
  const known = loadKnown(cmd, kind, o.known ?? []);
  const seed = o.seed !== undefined ? int(cmd, 'seed', o.seed, 0) : Math.floor(Math.random() * 0x7fff_ffff);
  const runs = o.runs !== undefined ? int(cmd, 'runs', o.runs, 1) : undefined;
  const timeS = o.time !== undefined ? Number(o.time) : undefined;
  if (timeS !== undefined && !(timeS > 0)) throw new UsageError(`fuzz ${cmd}: --time wants seconds > 0, got '${o.time}'`);
  const replyTimeoutMs = int(cmd, 'timeout', o.timeout, 1);
  const progress = createProgress({ write: (c: string) => io.stderr(c), isTTY: process.stderr.isTTY === true, columns: process.stderr.columns }, { label: `fuzz ${cmd}`, unit: 'execs', ...(runs !== undefined ? { total: runs } : {}) });
  const peer = new ProcessPeer(spec);
  // A fuzzer stopped by a signal must not leave its back-end behind.
  const onSignal = (sig: NodeJS.Signals): void => {
    void peer.stop().finally(() => process.kill(process.pid, sig));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    try {
      await peer.start();
    } catch (err) {
      if (!isPeerUnavailableError(err)) throw err;
      progress.done();
      io.stderr(`vhostlab: fuzz ${cmd}: ${err.message}\n`);
      io.setExitCode(ExitCode.PEER_UNREACHABLE);
      return;
    }
    io.stderr(`fuzz ${cmd}: ${spec.name} (${spec.mode} mode), seed ${seed}\n`);
    if (o.corpus !== undefined) {
      for (const { file, repro } of corpusFiles(o.corpus, kind)) {
        const r = await replay(repro, peer);
        progress.log(`fuzz ${cmd}: corpus ${basename(file)}: ${r.reproduced ? `FAILS again: ${r.summary ?? repro.failure.summary}` : 'passes'}`);
        if (r.reproduced) {
          progress.done();
          io.stdout(`fuzz ${cmd}: corpus reproducer ${file} still fails: ${r.summary ?? repro.failure.summary}\n`);
          io.setExitCode(ExitCode.FAILED);
          return;
        }
      }
    }
    if (known !== undefined) io.stderr(`fuzz ${cmd}: ${known.size} known finding class(es) will be passed over\n`);
    const outcome = await fuzz(peer, {
      ...(known !== undefined ? { known, onKnown: (h: KnownHit) => progress.log(`fuzz ${cmd}: met a known finding (${h.label}); going on`) } : {}),
      seed, ...(runs !== undefined ? { runs } : {}), ...(timeS !== undefined ? { timeMs: timeS * 1000 } : {}), replyTimeoutMs, outDir: o.out, noShrink: !o.shrink, shrinkTimeMs: Number(o.shrinkTime) > 0 ? Number(o.shrinkTime) * 1000 : 60_000,
      onProgress: (p) => progress.update({ current: p.phase, done: p.execs }),
    });
    progress.done();
    const f = outcome.finding;
    if (f?.reproPath && o.corpus !== undefined) {
      mkdirSync(o.corpus, { recursive: true });
      copyFileSync(f.reproPath, join(o.corpus, basename(f.reproPath)));
    }
    const hits = outcome.known ?? [];
    if (!o.json) for (const h of hits) io.stderr(`fuzz ${cmd}: known finding ${h.label} met ${h.count} time(s), passed over\n`);
    if (!o.json && outcome.details !== undefined) {
      for (const [k, v] of Object.entries(outcome.details)) io.stderr(`fuzz ${cmd}: ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}\n`);
    }
    if (o.json) {
      io.stdout(`${JSON.stringify({ fuzzer: cmd, peer: spec.name, seed: outcome.seed, execs: outcome.execs, searchExecs: outcome.searchExecs, execsPerSec: Math.round(outcome.execsPerSec * 100) / 100, durationMs: Math.round(outcome.elapsedMs), ...outcome.details, known: hits.map((h) => ({ reproducer: h.label, count: h.count })), found: f !== undefined, ...(f ? { finding: { kind: f.kind, summary: f.summary, length: f.length, replays: f.replays ?? null, reproducer: f.reproPath ?? null } } : {}) }, null, 2)}\n`);
    } else if (f === undefined) {
      io.stderr(`fuzz ${cmd}: nothing ${hits.length > 0 ? 'new ' : ''}found in ${outcome.searchExecs} runs (${outcome.execsPerSec.toFixed(1)} execs/s), seed ${outcome.seed}\n`);
    } else {
      io.stdout([
        `fuzz ${cmd}: ${f.kind} found: ${f.summary}`,
        `  seed ${outcome.seed}, after ${outcome.searchExecs} runs (${outcome.execsPerSec.toFixed(1)} execs/s); shrunk to ${f.length} steps${f.replays === undefined ? '' : f.replays ? ', replays' : ', did NOT replay from the recorded bytes alone'}`,
        ...f.lines.map((l) => `    ${l}`),
        ...(f.reproPath ? [`  reproducer: ${f.reproPath}`, `  replay:     vhostlab fuzz --replay ${f.reproPath}`] : []),
      ].join('\n') + '\n');
    }
    io.setExitCode(f === undefined ? ExitCode.OK : ExitCode.FAILED);
  } catch (err) {
    progress.done();
    if (isPeerUnavailableError(err)) {
      io.stderr(`vhostlab: fuzz ${cmd}: ${err.message}\n`);
      io.setExitCode(ExitCode.PEER_UNREACHABLE);
      return;
    }
    throw err;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await peer.stop();
  }
}

/**
 * Replays a live reproducer on the peer it recorded (`params.peer`), or on the one `--profile` /
 * `--backend` name instead.
 */
export async function replayLive(
  repro: Repro,
  io: FuzzIo,
  o: { replay: string; json?: boolean; profile?: string; backend?: string; mode?: string; type?: string },
  replay: (repro: Repro, peer: FuzzPeer) => Promise<{ reproduced: boolean; summary?: string }>,
): Promise<void> {
  const { json, replay: file } = o;
  const override = o.profile !== undefined || o.backend !== undefined;
  const spec = override
    ? peerSpecOf('--replay', { profile: o.profile, backend: o.backend, mode: o.mode, type: o.type ?? 'net' } as LiveCliOptions)
    : (repro.params as { peer?: ProcessPeerSpec }).peer;
  if (spec === undefined || typeof spec.command !== 'string') {
    const fake = /^fake-backend\[/.test(repro.target)
      ? ` (it was found against the test suite's in-process fake back-end ${repro.target}, which npm test replays)`
      : '';
    throw new UsageError(`fuzz --replay: ${file} records no peer to start (params.peer)${fake}; name one with --profile P or --backend 'CMD {socket}' --mode server|client`);
  }
  const peer = new ProcessPeer(spec);
  try {
    await peer.start();
    const r = await replay(repro, peer);
    if (json) io.stdout(`${JSON.stringify({ file, kind: repro.kind, target: spec.name, reproduced: r.reproduced, failure: r.summary ?? null, recorded: repro.failure }, null, 2)}\n`);
    else io.stdout(r.reproduced ? `fuzz --replay: reproduced on ${spec.name}: ${r.summary}\n` : `fuzz --replay: no failure on ${spec.name} (recorded: ${repro.failure.summary})\n`);
    io.setExitCode(r.reproduced ? ExitCode.FAILED : ExitCode.OK);
  } catch (err) {
    if (isPeerUnavailableError(err)) {
      io.stderr(`vhostlab: fuzz --replay: ${err.message}\n`);
      io.setExitCode(ExitCode.PEER_UNREACHABLE);
      return;
    }
    throw err;
  } finally {
    await peer.stop();
  }
}

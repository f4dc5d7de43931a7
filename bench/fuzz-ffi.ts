/**
 * Benchmark of `vhostlab fuzz ffi` against libFuzzer on the same example targets (native/targets):
 *
 * - execs/s: fuzz ffi (bytes and structured input, plain and ASan builds) and the libFuzzer
 *   binaries (`-fsanitize=fuzzer` and `-fsanitize=fuzzer,address`), on the safe target (fixed cost
 *   per execution) and the parser target (`vu_parser_fixed`: the parser with both planted bugs
 *   compiled out, so neither fuzzer stops at a crash);
 * - time to the first crash on the planted deep bug, median over several seeds, fuzz ffi in
 *   structured mode against libFuzzer's byte mutation (the faster, non-ASan libFuzzer build: the
 *   bug is a SIGSEGV either way). Both times run from the start of the process (fuzz ffi: the
 *   call, worker start included) to the crash being seen. Runs that hit the cap count as the cap
 *   and are flagged.
 *
 * Goals (issue 5): structure-aware fuzzing reaches the deep bug at least 10× sooner than
 * libFuzzer; fuzz ffi runs at least 1/5 of libFuzzer's execs/s. Both ratios are reported as rows.
 *
 * fuzz ffi's rate is its search phase (the worker generating and running inputs), over the same
 * wall time budget as libFuzzer's; worker start-up is reported apart (`startupMs`), and counted
 * in the time to the deep bug. The machine may be shared: compare ratios from one run, not
 * absolute rates across runs.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzzFfi } from '../fuzz/ffi/index.js';
import type { BenchContext, BenchResult } from './types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = `${ROOT}native/build/targets/`;

/** What one libFuzzer run did. */
interface LibFuzzerRun {
  readonly execs: number;
  readonly wallMs: number;
  readonly crashed: boolean;
}

/** Runs a libFuzzer binary for at most `seconds` and reads its final stats. */
function runLibFuzzer(binary: string, seed: number, seconds: number, dir: string): Promise<LibFuzzerRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(binary, [`-seed=${seed}`, `-max_total_time=${seconds}`, '-print_final_stats=1', `-artifact_prefix=${dir}/`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-64 * 1024)));
    p.stderr.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-64 * 1024)));
    // max_total_time is checked between inputs; a stuck binary is killed a little after the cap.
    const guard = setTimeout(() => p.kill('SIGKILL'), (seconds + 30) * 1000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(guard);
      const wallMs = performance.now() - t0;
      const units = /stat::number_of_executed_units:\s*(\d+)/.exec(text)?.[1] ?? /#(\d+)\s+DONE/.exec(text)?.[1];
      // On a crash libFuzzer prints no final stats; the last status line carries the count.
      const lines = [...text.matchAll(/^#(\d+)\s/gm)];
      const execs = Number(units ?? lines.at(-1)?.[1] ?? 0);
      resolve({ execs, wallMs, crashed: code !== 0 && /ERROR: |deadly signal/.test(text) });
    });
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs the fuzz-ffi benchmark; see the module comment. */
export async function benchFuzzFfi(ctx: BenchContext): Promise<BenchResult[]> {
  // Build the example targets if needed (a no-op when up to date).
  execFileSync('make', ['-s', '-C', `${ROOT}native/targets`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const rateSeconds = ctx.quick ? 1 : 3;
  const ttcSeeds = ctx.quick ? [1, 2, 3] : [1, 2, 3, 4, 5];
  const libFuzzerSeeds = ctx.quick ? [1, 2, 3] : [1, 2, 3];
  const capS = ctx.quick ? 20 : 40;
  const haveClang = existsSync(`${BUILD}safe-libfuzzer`);
  const results: BenchResult[] = [];
  const rates = new Map<string, number>();
  const key = (impl: string, target: string, mode: string, build: string): string => `${impl}/${target}/${mode}/${build}`;

  // 1. execs/s
  for (const target of ['safe', 'vu_parser_fixed']) {
    for (const build of haveClang ? ['plain', 'asan'] : ['plain']) {
      const lib = `${BUILD}lib${target}${build === 'asan' ? '-asan' : ''}.so`;
      for (const mode of ['bytes', 'structured'] as const) {
        const r = await fuzzFfi({ target: lib, mode, seed: 1, timeMs: rateSeconds * 1000, shrink: false });
        rates.set(key('vhostlab', target, mode, build), r.execsPerSec);
        ctx.log(`fuzz-ffi: vhostlab ${target} ${mode} ${build}: ${Math.round(r.execsPerSec)} execs/s${r.finding ? ' (stopped at a crash)' : ''}`);
        results.push({ name: 'fuzz-ffi.execs-per-sec', unit: 'execs/s', value: Math.round(r.execsPerSec), params: { impl: 'vhostlab', target, mode, build }, details: { execs: r.searchExecs, startupMs: Math.round(r.startupMs) } });
      }
      if (haveClang) {
        const bin = `${BUILD}${target}-libfuzzer${build === 'asan' ? '-asan' : ''}`;
        const r = await runLibFuzzer(bin, 1, rateSeconds, ctx.dir);
        const rate = (r.execs * 1000) / r.wallMs;
        rates.set(key('libfuzzer', target, 'bytes', build), rate);
        ctx.log(`fuzz-ffi: libFuzzer ${target} ${build}: ${Math.round(rate)} execs/s`);
        results.push({ name: 'fuzz-ffi.execs-per-sec', unit: 'execs/s', value: Math.round(rate), params: { impl: 'libfuzzer', target, mode: 'bytes', build }, details: { execs: r.execs } });
      }
    }
  }
  if (haveClang) {
    for (const [k, v] of rates) {
      const [impl, target, mode, build] = k.split('/') as [string, string, string, string];
      const lf = rates.get(key('libfuzzer', target, 'bytes', build));
      if (impl !== 'vhostlab' || lf === undefined || lf === 0) continue;
      results.push({ name: 'fuzz-ffi.execs-ratio', unit: 'ratio', value: Number((v / lf).toFixed(3)), params: { impl: 'vhostlab', target, mode, build, goal: 0.2 }, details: { met: v / lf >= 0.2 } });
    }
  }

  // 2. time to the deep bug
  const ours: number[] = [];
  const oursExecs: number[] = [];
  let oursCapped = 0;
  for (const seed of ttcSeeds) {
    const r = await fuzzFfi({ target: `${BUILD}libvu_parser_deep.so`, mode: 'structured', seed, timeMs: capS * 1000, shrink: false });
    const wall = r.finding ? r.startupMs + r.finding.timeToFindMs : capS * 1000;
    if (r.finding === undefined) oursCapped++;
    ours.push(r.finding ? wall : capS * 1000);
    oursExecs.push(r.finding ? r.finding.execsToFind : r.searchExecs);
    ctx.log(`fuzz-ffi: vhostlab structured seed ${seed}: ${r.finding ? `deep bug after ${r.finding.execsToFind} inputs, ${Math.round(wall)} ms` : `not found in ${capS} s`}`);
  }
  const oursMedian = median(ours);
  results.push({
    name: 'fuzz-ffi.time-to-deep-bug', unit: 'ms', value: Math.round(oursMedian),
    params: { impl: 'vhostlab', target: 'vu_parser_deep', mode: 'structured', build: 'plain', seeds: ttcSeeds.length, capMs: capS * 1000 },
    details: { capped: oursCapped, runsMs: ours.map(Math.round), medianExecs: median(oursExecs) },
  });
  if (haveClang) {
    const theirs: number[] = [];
    const theirExecs: number[] = [];
    let capped = 0;
    for (const seed of libFuzzerSeeds) {
      const r = await runLibFuzzer(`${BUILD}vu_parser_deep-libfuzzer`, seed, capS, ctx.dir);
      if (!r.crashed) capped++;
      theirs.push(r.crashed ? r.wallMs : Math.max(r.wallMs, capS * 1000));
      theirExecs.push(r.execs);
      ctx.log(`fuzz-ffi: libFuzzer seed ${seed}: ${r.crashed ? `deep bug after ~${r.execs} inputs, ${Math.round(r.wallMs)} ms` : `not found in ${capS} s`}`);
    }
    const theirMedian = median(theirs);
    results.push({
      name: 'fuzz-ffi.time-to-deep-bug', unit: 'ms', value: Math.round(theirMedian),
      params: { impl: 'libfuzzer', target: 'vu_parser_deep', mode: 'bytes', build: 'plain', seeds: libFuzzerSeeds.length, capMs: capS * 1000 },
      details: { capped, runsMs: theirs.map(Math.round), medianExecs: median(theirExecs) },
    });
    const speedup = theirMedian / oursMedian;
    results.push({
      name: 'fuzz-ffi.deep-bug-speedup', unit: 'x', value: Number(speedup.toFixed(1)),
      // A capped libFuzzer median makes the speed-up a lower bound.
      params: { impl: 'vhostlab', target: 'vu_parser_deep', mode: 'structured', goal: 10 },
      details: { met: speedup >= 10, lowerBound: capped > 0 },
    });
  } else {
    ctx.log('fuzz-ffi: clang-14 builds missing, libFuzzer comparison skipped');
  }
  return results;
}

/**
 * `vhostlab fuzz ffi --target LIB.so`: fuzzes a libFuzzer-ABI shared library in a worker process
 * (fuzz/ffi). Exit 0 nothing found, 1 found (reproducer path printed), 2 bad usage, 3 the target
 * cannot be loaded.
 * @module
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { AsanRuntimeError, fuzzFfi, isFfiTargetLoadError, type FfiFuzzResult, type InputModeValue } from '../../../fuzz/ffi/index.js';
import type { KnownHit } from '../../../fuzz/campaign/known.js';
import { ExitCode, UsageError } from '../../exit.js';
import type { FuzzIo } from './io.js';
import { collectKnown, loadKnown } from './known-option.js';

interface FfiCliOptions {
  target: string;
  input: string;
  seed?: string;
  runs?: string;
  time?: string;
  out: string;
  corpus?: string;
  asan?: boolean;
  asanRuntime?: string;
  timeout: string;
  batch: string;
  shrink: boolean;
  known?: string[];
  json?: boolean;
}

function int(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`fuzz ffi: --${name} wants a whole number >= ${min}, got '${value}'`);
  return n;
}

/** Registers `ffi` under the `fuzz` group. */
export function registerFfi(fuzz: Command, io: FuzzIo): void {
  fuzz
    .command('ffi')
    .description('fuzz a shared library exporting LLVMFuzzerTestOneInput, in a worker process')
    .requiredOption('--target <lib.so>', 'the libFuzzer-ABI shared library')
    .option('--input <mode>', 'structured (vhost-user message streams) or bytes', 'structured')
    .option('--seed <n>', 'fast-check seed (default: random, printed)')
    .option('--runs <n>', 'inputs to generate (default 100000)')
    .option('--time <s>', 'time budget in seconds (instead of --runs)')
    .option('--out <dir>', 'where reproducers go', './fuzz-findings/')
    .option('--corpus <dir>', 'corpus folder: its inputs run first; a found crash is added')
    .option('--asan', 'the library is ASan-built (default: detected)')
    .option('--asan-runtime <path>', 'ASan runtime to LD_PRELOAD (default: from clang-14)')
    .option('--timeout <ms>', 'time one input may take before it is a hang', '2000')
    .option('--batch <n>', 'inputs per IPC round trip when corpus inputs are sent (the search generates inputs in the worker)', '256')
    .option('--no-shrink', 'report the failing input as found')
    .option('--known <path>', 'an ffi reproducer (or a folder of them) of a bug already reported: crashes of its class are counted and passed over (repeatable)', collectKnown)
    .option('--json', 'print one JSON document on stdout')
    .addHelpText('after', `
The target runs in a child process that generates its inputs itself (input i is fast-check run i
of the seed), so a crash (signal, sanitizer report, exit) or a hang is caught, the input
regenerated, shrunk by fast-check (each attempt in a fresh child) and written as a reproducer that
\`vhostlab fuzz --replay FILE\` replays. ASan-built libraries get the ASan runtime preloaded.

With --known, a crash of a known class (its kind and summary, numbers masked) is counted and the
search goes on after it, so a target with a reported bug can be searched for the next one. An
ASan build names the crashing function ("AddressSanitizer: SEGV in vring_start"), which tells
two bugs apart; a plain build's crashes are all "signal SIGSEGV", one class.

Exit codes: 0 nothing found, 1 found (the reproducer path is printed), 2 bad usage,
3 the target cannot be loaded.

Example:
  vhostlab fuzz ffi --target native/build/targets/libvu_parser.so --input structured --seed 1 --runs 200000`)
    .action(async (o: FfiCliOptions) => {
      if (o.input !== 'structured' && o.input !== 'bytes') throw new UsageError(`fuzz ffi: --input must be structured or bytes, got '${o.input}'`);
      if (o.runs !== undefined && o.time !== undefined) throw new UsageError('fuzz ffi: give --runs or --time, not both');
      const known = loadKnown('ffi', 'ffi', o.known ?? []);
      if (!existsSync(o.target)) {
        io.stderr(`vhostlab: fuzz ffi: target ${o.target} does not exist\n`);
        io.setExitCode(ExitCode.PEER_UNREACHABLE);
        return;
      }
      const seed = o.seed !== undefined ? int('seed', o.seed, 0) : undefined;
      const runs = o.runs !== undefined ? int('runs', o.runs, 1) : undefined;
      const timeS = o.time !== undefined ? Number(o.time) : undefined;
      if (timeS !== undefined && !(timeS > 0)) throw new UsageError(`fuzz ffi: --time wants seconds > 0, got '${o.time}'`);
      let result: FfiFuzzResult;
      try {
        result = await fuzzFfi({
          target: o.target,
          mode: o.input as InputModeValue,
          ...(seed !== undefined ? { seed } : {}),
          ...(runs !== undefined ? { runs } : {}),
          ...(timeS !== undefined ? { timeMs: timeS * 1000 } : {}),
          outDir: o.out,
          ...(o.corpus !== undefined ? { corpusDir: o.corpus } : {}),
          ...(o.asan ? { asan: true } : {}),
          ...(o.asanRuntime !== undefined ? { asanRuntime: o.asanRuntime } : {}),
          hangTimeoutMs: int('timeout', o.timeout, 1),
          batchSize: int('batch', o.batch, 1),
          shrink: o.shrink,
          ...(known !== undefined ? { known, onKnown: (h: KnownHit) => io.stderr(`fuzz ffi: met a known finding (${h.label}); going on\n`) } : {}),
          onProgress: (p) =>
            io.stderr(`fuzz ffi: ${p.phase} ${p.execs} execs, ${Math.round(p.execsPerSec)} execs/s, ${(p.elapsedMs / 1000).toFixed(1)} s${p.phase === 'shrink' ? `, ${p.shrinkSteps} shrink steps` : ''}\n`),
        });
      } catch (err) {
        if (isFfiTargetLoadError(err) || err instanceof AsanRuntimeError) {
          io.stderr(`vhostlab: fuzz ffi: ${err.message}\n`);
          io.setExitCode(ExitCode.PEER_UNREACHABLE);
          return;
        }
        throw err;
      }
      const f = result.finding;
      if (!o.json) for (const h of result.known) io.stderr(`fuzz ffi: known finding ${h.label} met ${h.count} time(s), passed over\n`);
      if (o.json) {
        io.stdout(`${JSON.stringify(summary(result), null, 2)}\n`);
      } else if (f === undefined) {
        io.stderr(`fuzz ffi: nothing found in ${result.searchExecs} execs (${Math.round(result.execsPerSec)} execs/s), seed ${result.seed}\n`);
      } else {
        io.stdout(
          [
            `fuzz ffi: ${f.failure.kind} found: ${f.failure.summary}`,
            `  seed ${f.seed}, after ${f.execsToFind} inputs (${(f.timeToFindMs / 1000).toFixed(2)} s); shrunk ${f.unshrunk.byteLength} -> ${f.input.byteLength} bytes in ${f.shrinkSteps} steps`,
            ...(f.reproPath ? [`  reproducer: ${f.reproPath}`, `  replay:     vhostlab fuzz --replay ${f.reproPath}`] : []),
          ].join('\n') + '\n',
        );
      }
      io.setExitCode(f === undefined ? ExitCode.OK : ExitCode.FAILED);
    });
}

/** The `--json` document. */
function summary(r: FfiFuzzResult): Record<string, unknown> {
  const f = r.finding;
  return {
    target: r.target,
    seed: r.seed,
    input: r.params,
    asan: r.asan,
    execs: r.execs,
    searchExecs: r.searchExecs,
    execsPerSec: Math.round(r.execsPerSec),
    known: r.known.map((h) => ({ reproducer: h.label, count: h.count })),
    found: f !== undefined,
    ...(f
      ? {
          finding: {
            failure: f.failure,
            source: f.source,
            path: f.path,
            execsToFind: f.execsToFind,
            timeToFindMs: Math.round(f.timeToFindMs),
            shrinkSteps: f.shrinkSteps,
            length: f.input.byteLength,
            reproducer: f.reproPath ?? null,
          },
        }
      : {}),
  };
}

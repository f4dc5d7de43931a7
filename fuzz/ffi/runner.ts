/**
 * `fuzz ffi`: property-based fuzzing of a libFuzzer-ABI shared library (`int
 * LLVMFuzzerTestOneInput(const uint8_t *, size_t)`) running in a worker process.
 *
 * Phases:
 * 1. corpus — every file of `corpusDir` (raw inputs, or reproducer JSON) runs first.
 * 2. search — the worker generates input `i` as fast-check run `i` of the input space (seekable
 *    random source, hand-written generator; see inputs.ts) and calls the target on it, with no
 *    IPC per input. It writes `i` to a page shared with the parent before each call; the parent
 *    polls that page for progress and hangs, and after a crash reads the culprit's index there.
 * 3. locate — the culprit is regenerated from (seed, index) and run alone in a fresh worker, to
 *    confirm it fails by itself and to get its failure.
 * 4. shrink — `fc.check` with `{seed, path: index, randomType}`: fast-check regenerates the
 *    culprit and shrinks its choice sequence, each candidate run alone (a fresh worker after every
 *    crash, spares kept warm). A candidate counts as failing only with the same failure signature.
 * 5. report — the shrunk input, its path and the failure go into a `vhostlab.repro/v1` file.
 *
 * Moving generation into the worker is what makes the rate: fast-check's runner and IPC cost a
 * few microseconds per input in the parent, a call into the target well under one.
 * @module
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KnownFindings, KnownHit } from '../campaign/known.js';
import { readRepro, reproBytes, writeRepro, type ReproFailure } from '../replay/repro.js';
import { findAsanRuntime, isAsanLibrary } from './asan.js';
import { TargetChild, type ChildOptions } from './child.js';
import { classifyEnd, type ClassifiedFailure } from './failure.js';
import { describeStream, inputAt, inputSpace, type InputModeValue, type InputOverrides, type InputParams, type InputSpace } from './inputs.js';

/** Options of {@link fuzzFfi}. */
export interface FfiFuzzOptions {
  /** Path of the libFuzzer-ABI shared library. */
  readonly target: string;
  /** Input space (default `structured`). */
  readonly mode?: InputModeValue;
  /** Overrides of the input space's parameters. */
  readonly inputParams?: InputOverrides;
  /** fast-check seed (default: random, reported in the result). */
  readonly seed?: number;
  /** Most inputs to generate (default 100 000 when `timeMs` is not given either). */
  readonly runs?: number;
  /** Time budget of the search phase in ms. */
  readonly timeMs?: number;
  /** Where the reproducer goes; none is written when absent. */
  readonly outDir?: string;
  /** Corpus folder: its inputs run first, and a shrunk crash is added to it. */
  readonly corpusDir?: string;
  /** Force ASan mode on or off (default: detected from the library). */
  readonly asan?: boolean;
  /** ASan runtime to preload (default: found via clang). */
  readonly asanRuntime?: string;
  /** Time one input may take before it counts as a hang (default 2000 ms). */
  readonly hangTimeoutMs?: number;
  /**
   * Inputs per IPC batch when inputs are sent (corpus files; default 256). The search phase sends
   * none: the worker generates its inputs.
   */
  readonly batchSize?: number;
  /** Shrink the failure (default true). */
  readonly shrink?: boolean;
  /** Time budget of shrinking in ms (default 60 000). */
  readonly shrinkTimeMs?: number;
  /**
   * Classes already reported (`--known`): a failure of one of them, in the corpus or the search,
   * is counted and stepped over instead of ending the run; shrinking keeps the new failure's own
   * signature, so it cannot turn into a known one either.
   */
  readonly known?: KnownFindings;
  /** Called each time a known class is met, with its count so far. */
  readonly onKnown?: (hit: KnownHit) => void;
  /** Called about every `progressIntervalMs` with counters. */
  readonly onProgress?: (p: FfiProgress) => void;
  /** Default 1000 ms. */
  readonly progressIntervalMs?: number;
}

/** A progress report. */
export interface FfiProgress {
  readonly phase: 'corpus' | 'search' | 'locate' | 'shrink';
  /** Inputs executed so far, all phases. */
  readonly execs: number;
  /** Since the search phase started. */
  readonly elapsedMs: number;
  /** Search-phase rate. */
  readonly execsPerSec: number;
  /** Shrink steps that kept the failure. */
  readonly shrinkSteps: number;
}

/** A failure found by {@link fuzzFfi}. */
export interface FfiFinding {
  /** Where it came from: generated (`fuzz`) or a corpus file. */
  readonly source: 'fuzz' | 'corpus';
  /** The (shrunk) failing input. */
  readonly input: Uint8Array;
  /** The input as first found. */
  readonly unshrunk: Uint8Array;
  readonly failure: ReproFailure;
  /** Failure signature, see failure.ts. */
  readonly signature: string;
  /** fast-check seed and replay path of `input` (path is '' for corpus findings). */
  readonly seed: number;
  readonly path: string;
  /** Shrink steps that kept the failure. */
  readonly shrinkSteps: number;
  /** Search-phase time and executed inputs until the failure was seen. */
  readonly timeToFindMs: number;
  readonly execsToFind: number;
  /** The reproducer written, when `outDir` was given. */
  readonly reproPath?: string;
  /** The corpus file it came from, or the one it was added to. */
  readonly corpusFile?: string;
}

/** Result of {@link fuzzFfi}. */
export interface FfiFuzzResult {
  readonly target: string;
  readonly seed: number;
  readonly params: InputParams;
  /** True when the target ran with the ASan runtime preloaded. */
  readonly asan: boolean;
  /** Inputs executed, all phases. */
  readonly execs: number;
  /** From the call to the start of the search (worker start, corpus), in ms. */
  readonly startupMs: number;
  /** Inputs executed by the search phase, and its duration and rate. */
  readonly searchExecs: number;
  readonly searchMs: number;
  readonly execsPerSec: number;
  /** Known classes met and stepped over, with how often. */
  readonly known: readonly KnownHit[];
  readonly finding?: FfiFinding;
}

/** Worker options for `opts`: detects ASan and finds its runtime. */
export function childOptionsFor(opts: Pick<FfiFuzzOptions, 'target' | 'asan' | 'asanRuntime'>): ChildOptions {
  // A missing file is reported by the worker's loader (exit 3 path), not by the ASan probe.
  const asan = opts.asan ?? (existsSync(opts.target) && isAsanLibrary(opts.target));
  return asan ? { target: opts.target, asanRuntime: findAsanRuntime(opts.target, opts.asanRuntime) } : { target: opts.target };
}

/**
 * Hands out ready workers. In crash-heavy phases (locate, shrink) it keeps `spares` workers
 * starting in advance: a worker takes about 100 ms to start (350 ms with ASan), and with two
 * cores two can start side by side while the current one runs.
 */
class WorkerSupply {
  private readonly spares: Promise<TargetChild>[] = [];
  constructor(private readonly options: ChildOptions) {}

  /** A ready worker; then tops the spares up to `spares`. */
  async take(spares: number): Promise<TargetChild> {
    const next = this.spares.shift() ?? TargetChild.start(this.options);
    while (this.spares.length < spares) {
      const s = TargetChild.start(this.options);
      // Errors surface when the spare is taken; an unused spare's failure is irrelevant.
      s.catch(() => undefined);
      this.spares.push(s);
    }
    return next;
  }

  async close(): Promise<void> {
    const all = this.spares.splice(0);
    await Promise.all(all.map((s) => s.then((c) => c.close(), () => undefined)));
  }
}

/** Spare workers kept starting while crashes are expected. */
const CRASH_SPARES = 2;

/**
 * Fuzzes `opts.target`. Resolves with counters and, when something failed, the shrunk finding
 * (and its reproducer path when `outDir` is set). Throws FfiTargetLoadError when the library
 * cannot be loaded at all.
 */
export async function fuzzFfi(opts: FfiFuzzOptions): Promise<FfiFuzzResult> {
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const space = inputSpace(opts.mode ?? 'structured', opts.inputParams);
  const childOpts = childOptionsFor(opts);
  const hangMs = opts.hangTimeoutMs ?? 2_000;
  const batchSize = Math.max(1, opts.batchSize ?? 256);
  const runs = opts.runs ?? (opts.timeMs === undefined ? 100_000 : Number.MAX_SAFE_INTEGER);
  const supply = new WorkerSupply(childOpts);
  const counters = { execs: 0, searchExecs: 0, shrinkSteps: 0 };
  let phase: FfiProgress['phase'] = 'corpus';
  const calledAt = performance.now();
  let searchStart = performance.now();
  let searchEnd: number | undefined;
  let lastProgress = 0;
  const searchMsNow = (): number => (searchEnd ?? performance.now()) - searchStart;
  const rate = (): number => {
    const ms = searchMsNow();
    return ms > 0 ? (counters.searchExecs * 1000) / ms : 0;
  };
  const progress = (force = false): void => {
    const now = performance.now();
    if (!opts.onProgress || (!force && now - lastProgress < (opts.progressIntervalMs ?? 1000))) return;
    lastProgress = now;
    opts.onProgress({ phase, execs: counters.execs, elapsedMs: now - searchStart, execsPerSec: rate(), shrinkSteps: counters.shrinkSteps });
  };
  const base = { target: opts.target, seed, params: space.params, asan: childOpts.asanRuntime !== undefined };
  const result = (finding?: FfiFinding): FfiFuzzResult => ({
    ...base,
    execs: counters.execs,
    startupMs: searchStart - calledAt,
    searchExecs: counters.searchExecs,
    searchMs: searchMsNow(),
    execsPerSec: rate(),
    known: [...hits.values()],
    ...(finding ? { finding } : {}),
  });

  const hits = new Map<string, KnownHit>();
  /** True (and counted) when `f` is of a known class. */
  const knownHit = (f: ClassifiedFailure): boolean => {
    const k = opts.known?.match(f.failure);
    if (k === undefined) return false;
    const hit: KnownHit = { label: k.label, signature: k.signature, count: (hits.get(k.signature)?.count ?? 0) + 1 };
    hits.set(k.signature, hit);
    opts.onKnown?.(hit);
    return true;
  };
  let child: TargetChild = await supply.take(0);
  try {
    // 1. corpus
    const corpus = opts.corpusDir !== undefined ? readCorpus(opts.corpusDir) : [];
    for (let from = 0; from < corpus.length; ) {
      const h = await runAndLocate(corpus.slice(from, from + batchSize).map((c) => c.input), child, supply, hangMs, counters);
      if (!child.alive) child = await supply.take(0);
      if (h === undefined) {
        from += batchSize;
        continue;
      }
      const index = from + h.index;
      // A known bug in the corpus is stepped over like one found by the search.
      from = index + 1;
      if (knownHit(h.failure)) continue;
      const entry = corpus[index]!;
      const finding: FfiFinding = {
        source: 'corpus', input: entry.input, unshrunk: entry.input, failure: h.failure.failure,
        signature: h.failure.signature, seed, path: '', shrinkSteps: 0, timeToFindMs: 0, execsToFind: counters.execs, corpusFile: entry.file,
      };
      return result(report(finding, opts, space));
    }

    // 2. search: the worker generates and runs inputs start..runs-1 itself (see worker.ts). A
    // culprit of a known class is counted and the search goes on after it in a fresh worker.
    phase = 'search';
    searchStart = performance.now();
    const execsBefore = counters.execs;
    let start = 0;
    let culprit: { run: number; atMs: number; found: ClassifiedFailure; unshrunk: Uint8Array; alone?: ClassifiedFailure } | undefined;
    while (culprit === undefined) {
      const leftMs = opts.timeMs === undefined ? 0 : opts.timeMs - (performance.now() - searchStart);
      if (start >= runs || (opts.timeMs !== undefined && leftMs <= 0)) break;
      if (!child.alive) child = await supply.take(0);
      const from = start;
      const verdict = await child.fuzz(
        { seed, params: space.params, start: from, count: runs - from, timeMs: opts.timeMs === undefined ? 0 : Math.max(1, leftMs) },
        hangMs,
        (executed) => {
          counters.searchExecs = from + executed;
          counters.execs = execsBefore + from + executed;
          progress();
        },
        Math.min(opts.progressIntervalMs ?? 1000, 100),
      );
      if (verdict.status === 'done') {
        start = verdict.next;
        break;
      }
      // Inputs before the culprit returned; the culprit is counted when it runs again alone.
      const run = verdict.index;
      const atMs = performance.now() - searchStart;
      const found = classifyEnd(verdict.end);
      counters.searchExecs = run;
      counters.execs = execsBefore + run;
      progress(true);
      await child.close();
      start = run + 1;
      // A crash whose report already names a known class needs no confirmation: rerunning it
      // alone would only pay for a second worker start and sanitizer report.
      if (knownHit(found)) continue;
      // 3. confirm: regenerate the culprit from (seed, index) and run it alone in a fresh worker.
      phase = 'locate';
      const unshrunk = inputAt(space, seed, run);
      const alone = (await locate([unshrunk], supply, hangMs, counters))?.failure;
      phase = 'search';
      if (alone !== undefined && knownHit(alone)) continue;
      culprit = { run, atMs, found, unshrunk, ...(alone ? { alone } : {}) };
    }
    searchEnd = performance.now();
    if (culprit === undefined) {
      counters.searchExecs = start;
      counters.execs = execsBefore + start;
      progress(true);
      return result();
    }
    phase = 'locate';
    const { run: culpritRun, atMs, found, unshrunk } = culprit;
    saveInFlight(opts.outDir, unshrunk);
    const hit = culprit.alone === undefined ? undefined : { failure: culprit.alone };
    if (hit === undefined) {
      // Not reproducible alone (state carried between inputs, or a flaky target): report the
      // culprit unshrunk with the original failure.
      const finding: FfiFinding = {
        source: 'fuzz', input: unshrunk, unshrunk, failure: { ...found.failure, summary: `${found.failure.summary} (not reproducible alone)` },
        signature: found.signature, seed, path: String(culpritRun), shrinkSteps: 0, timeToFindMs: atMs, execsToFind: culpritRun + 1,
      };
      return result(report(finding, opts, space));
    }
    let best = { input: unshrunk, failure: hit.failure, path: String(culpritRun) };

    // 4. shrink
    if (opts.shrink ?? true) {
      phase = 'shrink';
      let current: TargetChild | undefined;
      const runOne = async (input: Uint8Array): Promise<ClassifiedFailure | undefined> => {
        current ??= await supply.take(CRASH_SPARES);
        const v = await current.submit([input], hangMs);
        counters.execs++;
        progress();
        if (v.status === 'ok') return undefined;
        current = undefined;
        return v.status === 'failed' ? classifyEnd(v.end) : undefined;
      };
      // fast-check's time limit races the property: a candidate may still be running when the
      // check returns. It must neither update `best` nor leave a worker behind.
      let stopped = false;
      let inflight: Promise<unknown> = Promise.resolve();
      const shrinkCheck = await fc.check(
        fc.asyncProperty(space.arbitrary, async (input) => {
          const running = runOne(input);
          inflight = running.catch(() => undefined);
          const f = await running;
          if (stopped) return true;
          if (f !== undefined && f.signature === hit.failure.signature) {
            counters.shrinkSteps++;
            best = { input, failure: f, path: best.path };
            return false;
          }
          return true;
        }),
        {
          seed, path: String(culpritRun), numRuns: 1, interruptAfterTimeLimit: opts.shrinkTimeMs ?? 60_000, markInterruptAsFailure: false,
          ...(space.randomType ? { randomType: space.randomType } : {}),
        },
      );
      stopped = true;
      await inflight;
      await current?.close();
      if (shrinkCheck.failed && shrinkCheck.counterexamplePath !== null && shrinkCheck.counterexample !== null) {
        best = { input: shrinkCheck.counterexample[0], failure: best.failure, path: shrinkCheck.counterexamplePath };
      }
    }
    const finding: FfiFinding = {
      source: 'fuzz', input: best.input, unshrunk, failure: best.failure.failure, signature: best.failure.signature,
      seed, path: best.path, shrinkSteps: counters.shrinkSteps, timeToFindMs: atMs, execsToFind: culpritRun + 1,
    };
    return result(report(finding, opts, space));
  } finally {
    await child.close();
    await supply.close();
  }
}

/**
 * Runs `inputs` as one batch on `child`; when the worker dies, {@link locate}s the culprit.
 * Returns its index and failure, or undefined when nothing failed (or nothing failed alone).
 */
async function runAndLocate(
  inputs: readonly Uint8Array[],
  child: TargetChild,
  supply: WorkerSupply,
  hangMs: number,
  counters: { execs: number },
): Promise<{ index: number; failure: ClassifiedFailure } | undefined> {
  const whole = await child.submit(inputs, hangMs + inputs.length);
  if (whole.status === 'ok') {
    counters.execs += inputs.length;
    return undefined;
  }
  return locate(inputs, supply, hangMs, counters);
}

/**
 * Runs `inputs` one per round trip on a fresh worker until one fails: the worker acknowledges each
 * input before it gets the next, so the unacknowledged one is the culprit.
 */
async function locate(
  inputs: readonly Uint8Array[],
  supply: WorkerSupply,
  hangMs: number,
  counters: { execs: number },
): Promise<{ index: number; failure: ClassifiedFailure } | undefined> {
  const worker = await supply.take(CRASH_SPARES);
  try {
    for (let i = 0; i < inputs.length; i++) {
      const v = await worker.submit([inputs[i]!], hangMs);
      counters.execs++;
      if (v.status !== 'ok') {
        return { index: i, failure: classifyEnd(v.status === 'failed' ? v.end : { code: null, signal: null, stderr: '', timedOut: false }) };
      }
    }
    return undefined;
  } finally {
    await worker.close();
  }
}

/** Corpus entries: raw files as they are, reproducer JSON files by their input. */
export function readCorpus(dir: string): { file: string; input: Uint8Array }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).isFile())
    .map((file) => ({ file, input: file.endsWith('.json') ? reproBytes(readRepro(file)) : new Uint8Array(readFileSync(file)) }));
}

/** libFuzzer-style raw copy of the culprit, written before shrinking so a killed run keeps it. */
function saveInFlight(outDir: string | undefined, input: Uint8Array): void {
  if (outDir === undefined) return;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `crash-${createHash('sha1').update(input).digest('hex')}`), input);
}

/** Writes the reproducer (and the corpus copy) for a finding and returns it with their paths. */
function report(finding: FfiFinding, opts: FfiFuzzOptions, space: InputSpace): FfiFinding {
  let out = finding;
  if (opts.outDir !== undefined) {
    const reproPath = writeRepro(opts.outDir, {
      kind: 'ffi', seed: finding.seed, path: finding.path, target: opts.target,
      params: { ...space.params, source: finding.source, ...(finding.corpusFile ? { corpusFile: finding.corpusFile } : {}) },
      input: finding.input, messages: describeStream(finding.input), failure: finding.failure,
    });
    out = { ...out, reproPath };
  }
  if (opts.corpusDir !== undefined && finding.source === 'fuzz') {
    mkdirSync(opts.corpusDir, { recursive: true });
    const corpusFile = join(opts.corpusDir, `crash-${createHash('sha1').update(finding.input).digest('hex')}`);
    writeFileSync(corpusFile, finding.input);
    out = { ...out, corpusFile };
  }
  return out;
}

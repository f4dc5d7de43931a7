/**
 * The FFI fuzzer's worker: a child process (forked by child.ts) that loads one libFuzzer-ABI target
 * and runs inputs through it. It exists so that a crashing target kills this process, not the
 * fuzzer; the parent sees the exit and reads which input was running from the shared progress page.
 *
 * In the search phase the worker generates its own inputs (protocol.ts `FuzzRequest`): input `i`
 * is fast-check run `i` of the input space, built by the space's `draw` from a random source it
 * seeks to in O(1), so no IPC happens per input and the parent can regenerate any input from
 * (seed, index). The loop runs in slices of {@link SLICE_MS} and yields between them, so a parent
 * that goes away is noticed.
 *
 * No configuration comes from argv or env: the first IPC message names the target, so the worker
 * behaves the same under the CLI, the tests and the benchmark.
 * @module
 */
import { closeFd, loadFuzzTarget, mmapShared, type FuzzTarget, type Mapping } from '../../native/index.js';
import { biasFactorOf, RunRandom } from './indexed-random.js';
import { inputSpace } from './inputs.js';
import { PROGRESS_BYTES, PROGRESS_FD, ProgressSlot, ProgressState, type FuzzRequest, type WorkerReply, type WorkerRequest } from './protocol.js';

/** Longest stretch of inputs run without returning to the event loop. */
const SLICE_MS = 50;
/** Inputs between two clock reads (a clock read costs about as much as a cheap input). */
const CLOCK_EVERY = 64;

let target: FuzzTarget | undefined;
let progressMapping: Mapping | undefined;
let progress: Float64Array | undefined;

const reply = (m: WorkerReply): void => {
  process.send?.(m);
};

/** Maps the progress page the parent passed as fd 4 (once). */
function progressPage(): Float64Array {
  if (progress === undefined) {
    // OWNERSHIP: fd 4 is this process's copy of the parent's memfd; once mapped it is not needed.
    progressMapping = mmapShared(PROGRESS_FD, PROGRESS_BYTES);
    closeFd(PROGRESS_FD);
    // SAFETY: the mapping stays referenced (progressMapping) for the life of the process.
    progress = new Float64Array(progressMapping.buffer);
  }
  return progress;
}

/** Runs a fuzz request slice by slice; replies `fuzz-done` unless the target kills the process. */
function fuzz(m: FuzzRequest, t: FuzzTarget): void {
  const page = progressPage();
  const space = inputSpace(m.params.mode, { maxItems: m.params.maxItems, maxRegions: m.params.maxRegions });
  const draw = space.draw!;
  const runs = new RunRandom(m.seed);
  const run = t.testOneInput.bind(t);
  const end = m.start + m.count;
  const deadline = m.timeMs > 0 ? performance.now() + m.timeMs : Number.POSITIVE_INFINITY;
  let i = m.start;
  page[ProgressSlot.INDEX] = i;
  page[ProgressSlot.STATE] = ProgressState.FUZZING;
  const slice = (): void => {
    const now = performance.now();
    const stopAt = Math.min(deadline, now + SLICE_MS);
    let clock = 0;
    while (i < end) {
      if (++clock === CLOCK_EVERY) {
        clock = 0;
        if (performance.now() >= stopAt) break;
      }
      const input = draw(runs.at(i), biasFactorOf(i));
      // Written before the call: after a crash or a hang, this is the culprit's index.
      page[ProgressSlot.INDEX] = i;
      run(input);
      i++;
    }
    if (i < end && performance.now() < deadline) {
      setImmediate(slice);
      return;
    }
    page[ProgressSlot.INDEX] = i;
    page[ProgressSlot.STATE] = ProgressState.FINISHED;
    reply({ t: 'fuzz-done', next: i });
  };
  slice();
}

process.on('message', (m: WorkerRequest) => {
  if (m.t === 'init') {
    try {
      progressPage();
      target = loadFuzzTarget(m.target);
      const init = target.initialize();
      reply({ t: 'ready', initialize: init ?? null });
    } catch (err) {
      reply({ t: 'load-error', message: err instanceof Error ? err.message : String(err) });
      // Let the IPC message flush before leaving; exit code 3 mirrors the CLI's "cannot load".
      process.channel?.unref();
      setTimeout(() => process.exit(3), 50);
    }
    return;
  }
  if (m.t === 'fuzz' && target !== undefined) {
    fuzz(m, target);
    return;
  }
  if (m.t === 'run' && target !== undefined) {
    const { data, ends } = m;
    const run = target.testOneInput.bind(target);
    let start = 0;
    // SAFETY: subarray views share `data`, which stays referenced for the whole loop; the target
    // only reads `size` bytes from the pointer koffi passes.
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i]!;
      run(data.subarray(start, end));
      start = end;
    }
    reply({ t: 'done', id: m.id, count: ends.length });
  }
});

// The parent going away (killed fuzzer, finished run) must not leave workers behind.
process.on('disconnect', () => process.exit(0));

/**
 * The FFI fuzzer's worker: a child process (forked by child.ts) that loads one libFuzzer-ABI target
 * and runs batches of inputs through it. It exists so that a crashing target kills this process,
 * not the fuzzer; the parent sees the exit and finds the culprit.
 *
 * No configuration comes from argv or env: the first IPC message names the target, so the worker
 * behaves the same under the CLI, the tests and the benchmark.
 * @module
 */
import { loadFuzzTarget, type FuzzTarget } from '../../native/index.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';

let target: FuzzTarget | undefined;

const reply = (m: WorkerReply): void => {
  process.send?.(m);
};

process.on('message', (m: WorkerRequest) => {
  if (m.t === 'init') {
    try {
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

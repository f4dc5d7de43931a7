/**
 * One worker process holding a loaded target (worker.ts), seen from the parent. Two ways to run
 * inputs:
 *
 * - `fuzz`: the worker generates and runs a range of search inputs by itself. The parent only
 *   supervises: it polls the shared progress page (a memfd mapped in both processes, given to
 *   the worker as fd 4) for progress, calls it a hang when the index stops moving for the hang
 *   time-out, and after a crash reads from the page which input was running.
 * - `submit`: explicit inputs in batches. Batches are pipelined: the parent may submit the next
 *   batch before the previous one answered, and the worker runs them in order. When the worker
 *   dies, the oldest unanswered batch is the one that killed it (`failed`); later ones never ran
 *   (`lost`).
 *
 * Every wait has a time-out: starting (load + LLVMFuzzerInitialize), each batch, and each input
 * of a fuzz range. A worker that does not answer in time is a hang: it is killed with SIGKILL.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VhostUserError } from '../../fakes/wire/errors.js';
import { closeFd, memfdCreate, mmapShared, type Mapping } from '../../native/index.js';
import { asanEnv } from './asan.js';
import { STDERR_KEEP, type WorkerEnd } from './failure.js';
import type { InputParams } from './inputs.js';
import { PROGRESS_BYTES, ProgressSlot, packBatch, type WorkerReply, type WorkerRequest } from './protocol.js';

/** Stable codes of FFI runner errors. */
export const FfiErrorCode = {
  /** The target library cannot be loaded (missing file, missing symbol, ASan runtime absent…). */
  TARGET_LOAD: 'VHU_ERR_FFI_TARGET_LOAD',
  /** The compiled worker script is missing (the TypeScript was not built). */
  WORKER_MISSING: 'VHU_ERR_FFI_WORKER_MISSING',
} as const;

/** The target cannot be loaded into a worker; the CLI maps this to exit code 3. */
export class FfiTargetLoadError extends VhostUserError {
  override readonly name = 'FfiTargetLoadError';
  /** The library path. */
  readonly target: string;
  /** What the worker printed on stderr, if anything (e.g. a dynamic linker message). */
  readonly stderr: string;
  constructor(target: string, message: string, stderr = '') {
    super(FfiErrorCode.TARGET_LOAD, message);
    this.target = target;
    this.stderr = stderr;
  }
}

/** True when `e` is an {@link FfiTargetLoadError}. */
export const isFfiTargetLoadError = (e: unknown): e is FfiTargetLoadError => e instanceof FfiTargetLoadError;

/** How a worker is started. */
export interface ChildOptions {
  /** Path of the libFuzzer-ABI library. */
  readonly target: string;
  /** ASan runtime to preload, when the target is ASan-built. */
  readonly asanRuntime?: string;
  /** Time allowed for loading and LLVMFuzzerInitialize (default 15 s). */
  readonly startTimeoutMs?: number;
}

/** Outcome of one batch. */
export type BatchVerdict =
  | { readonly status: 'ok' }
  /** The worker died (or hung) while running this batch. */
  | { readonly status: 'failed'; readonly end: WorkerEnd }
  /** The worker died before reaching this batch; none of its inputs ran. */
  | { readonly status: 'lost' };

/** A range of search inputs for {@link TargetChild.fuzz}. */
export interface FuzzRange {
  /** Search seed (fast-check seed of the input space). */
  readonly seed: number;
  /** The input space (a `choices` generator). */
  readonly params: InputParams;
  /** First input index. */
  readonly start: number;
  /** Number of inputs. */
  readonly count: number;
  /** Stop after this many ms (0: no limit). */
  readonly timeMs: number;
}

/** Outcome of a fuzz range. */
export type FuzzVerdict =
  /** Every input up to `next` (exclusive) ran and returned. */
  | { readonly status: 'done'; readonly next: number }
  /** The worker died (or hung) running input `index`; inputs before it returned. */
  | { readonly status: 'failed'; readonly index: number; readonly end: WorkerEnd };

interface FuzzWait {
  readonly resolve: (v: FuzzVerdict) => void;
  readonly timer: NodeJS.Timeout;
}

interface Pending {
  readonly id: number;
  readonly timeoutMs: number;
  readonly resolve: (v: BatchVerdict) => void;
}

/** Path of the compiled worker: next to this module in dist, else `dist/` when run from source. */
export function workerScript(): string {
  const sibling = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const built = fileURLToPath(new URL('../../dist/fuzz/ffi/worker.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new VhostUserError(FfiErrorCode.WORKER_MISSING, `the FFI worker ${built} is missing; run \`npm run build\``);
}

/** A running worker with a loaded target. */
export class TargetChild {
  private readonly proc: ChildProcess;
  private readonly pending: Pending[] = [];
  private nextId = 1;
  private stderrTail = '';
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private ended: WorkerEnd | undefined;
  private readonly closed: Promise<WorkerEnd>;
  private fuzzing: FuzzWait | undefined;

  private constructor(
    proc: ChildProcess,
    private readonly mapping: Mapping,
    private readonly page: Float64Array,
  ) {
    this.proc = proc;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2 * STDERR_KEEP);
    });
    proc.on('message', (m: WorkerReply) => this.onMessage(m));
    // 'close' (not 'exit') fires after stderr is drained, so the sanitizer report is complete.
    this.closed = new Promise((resolve) => {
      proc.on('close', (code, signal) => {
        this.ended = { code, signal, stderr: this.stderrTail, timedOut: this.timedOut };
        this.onEnd(this.ended);
        resolve(this.ended);
      });
    });
    // A dead worker's IPC channel can report EPIPE on send; 'close' handles the consequences.
    proc.on('error', () => undefined);
  }

  /**
   * Forks a worker and loads `opts.target` in it. Throws {@link FfiTargetLoadError} when the
   * library cannot be loaded, the worker dies while loading, or loading takes too long.
   */
  static async start(opts: ChildOptions): Promise<TargetChild> {
    const env = opts.asanRuntime !== undefined ? asanEnv(opts.asanRuntime, process.env) : process.env;
    const script = workerScript();
    // OWNERSHIP: the memfd is dup'ed into the worker as fd 4; this process keeps only a mapping.
    const memfd = memfdCreate('vhostlab-ffi-progress', PROGRESS_BYTES);
    let mapping: Mapping;
    let proc: ChildProcess;
    try {
      mapping = mmapShared(memfd, PROGRESS_BYTES);
      proc = fork(script, [], {
        execArgv: [],
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc', memfd],
        env,
      });
    } finally {
      closeFd(memfd);
    }
    // SAFETY: the page stays mapped until close() (after the worker is gone).
    const child = new TargetChild(proc, mapping, new Float64Array(mapping.buffer));
    const timeoutMs = opts.startTimeoutMs ?? 15_000;
    const ready = await new Promise<WorkerReply | WorkerEnd | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      proc.once('message', (m: WorkerReply) => {
        clearTimeout(timer);
        resolve(m);
      });
      void child.closed.then((end) => {
        clearTimeout(timer);
        resolve(end);
      });
      child.send({ t: 'init', target: opts.target });
    });
    if (typeof ready === 'object' && 't' in ready && ready.t === 'ready') return child;
    await child.close();
    const stderr = child.stderrTail.trim();
    if (ready === 'timeout') throw new FfiTargetLoadError(opts.target, `loading ${opts.target} took more than ${timeoutMs} ms`, stderr);
    if ('t' in ready && ready.t === 'load-error') throw new FfiTargetLoadError(opts.target, ready.message, stderr);
    const how = 'signal' in ready && ready.signal ? `signal ${ready.signal}` : `exit code ${(ready as WorkerEnd).code}`;
    throw new FfiTargetLoadError(opts.target, `the worker died while loading ${opts.target} (${how})${stderr ? `: ${stderr.split('\n').slice(-3).join(' | ')}` : ''}`, stderr);
  }

  /** True until the worker has exited. */
  get alive(): boolean {
    return this.ended === undefined;
  }

  /** Number of submitted batches without a verdict. */
  get inFlight(): number {
    return this.pending.length;
  }

  /**
   * Queues a batch. `timeoutMs` counts from the moment the worker starts on it (the previous batch
   * answered), so pipelining does not eat into it.
   */
  submit(inputs: readonly Uint8Array[], timeoutMs: number): Promise<BatchVerdict> {
    if (this.ended !== undefined) return Promise.resolve({ status: 'lost' });
    const id = this.nextId++;
    const { data, ends } = packBatch(inputs);
    return new Promise((resolve) => {
      this.pending.push({ id, timeoutMs, resolve });
      if (this.pending.length === 1) this.arm();
      this.send({ t: 'run', id, data, ends });
    });
  }

  /**
   * Lets the worker generate and run `range`, and resolves when it finished or died. Calls
   * `onProgress(executed)` about every `tickMs`. An input that runs longer than `hangMs` (the
   * index on the progress page does not move) is a hang: the worker is killed.
   */
  fuzz(range: FuzzRange, hangMs: number, onProgress?: (executed: number) => void, tickMs = 100): Promise<FuzzVerdict> {
    if (this.ended !== undefined) return Promise.resolve({ status: 'failed', index: range.start, end: this.ended });
    if (this.fuzzing !== undefined || this.pending.length > 0) throw new Error('TargetChild.fuzz: the worker is busy');
    this.page[ProgressSlot.INDEX] = range.start;
    const tick = Math.max(5, Math.min(tickMs, hangMs / 4));
    let last = range.start;
    let lastMove = performance.now();
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const index = this.page[ProgressSlot.INDEX]!;
        const now = performance.now();
        if (index !== last) {
          last = index;
          lastMove = now;
        } else if (now - lastMove > hangMs) {
          this.timedOut = true;
          this.kill();
        }
        onProgress?.(index - range.start);
      }, tick);
      this.fuzzing = { resolve, timer };
      this.send({ t: 'fuzz', seed: range.seed, params: range.params, start: range.start, count: range.count, timeMs: range.timeMs });
    });
  }

  /** Kills the worker (SIGKILL), waits until it is gone, and releases the progress page. */
  async close(): Promise<void> {
    this.kill();
    await this.closed;
    this.mapping.unmap();
  }

  /** Sends SIGKILL; verdicts of pending batches follow from the 'close' event. */
  kill(): void {
    if (this.ended === undefined) this.proc.kill('SIGKILL');
  }

  private send(m: WorkerRequest): void {
    if (this.proc.connected) this.proc.send(m);
  }

  private arm(): void {
    clearTimeout(this.timer);
    const head = this.pending[0];
    if (head === undefined) return;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.kill();
    }, head.timeoutMs);
  }

  private onMessage(m: WorkerReply): void {
    if (m.t === 'fuzz-done') {
      const f = this.fuzzing;
      this.fuzzing = undefined;
      if (f === undefined) return;
      clearInterval(f.timer);
      f.resolve({ status: 'done', next: m.next });
      return;
    }
    if (m.t !== 'done') return;
    const head = this.pending[0];
    if (head === undefined || head.id !== m.id) return;
    this.pending.shift();
    this.arm();
    head.resolve({ status: 'ok' });
  }

  private onEnd(end: WorkerEnd): void {
    clearTimeout(this.timer);
    const f = this.fuzzing;
    this.fuzzing = undefined;
    if (f !== undefined) {
      clearInterval(f.timer);
      f.resolve({ status: 'failed', index: this.page[ProgressSlot.INDEX]!, end });
    }
    const [head, ...rest] = this.pending.splice(0);
    head?.resolve({ status: 'failed', end });
    for (const p of rest) p.resolve({ status: 'lost' });
  }
}

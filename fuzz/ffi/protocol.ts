/**
 * Messages between the FFI fuzzer (parent) and its worker (the child process that loads the
 * target), and the layout of the progress page they share.
 *
 * The search phase sends one {@link FuzzRequest}: the worker generates and runs the inputs itself
 * and answers once at the end; meanwhile it writes the index of the input it is about to run into
 * the shared progress page (a memfd mapped by both, passed as fd {@link PROGRESS_FD}), which the
 * parent polls for progress and hangs and reads after a crash. Everything else (corpus,
 * confirmation, shrinking, replay) sends explicit inputs in batches packed into one byte array
 * plus end offsets. The channel uses Node's `advanced` serialization, which copies typed arrays as
 * bytes instead of JSON number lists.
 * @module
 */
import type { InputParams } from './inputs.js';

/** The worker's fd of the shared progress page (after stdin, stdout, stderr and the IPC channel). */
export const PROGRESS_FD = 4;
/** Size of the progress page. */
export const PROGRESS_BYTES = 4096;
/** Float64 slots of the progress page. */
export const ProgressSlot = {
  /** Index of the input the worker is about to run (then runs); after the loop, the next index. */
  INDEX: 0,
  /** {@link ProgressState}. */
  STATE: 1,
} as const;
/** Values of the STATE slot. */
export const ProgressState = { IDLE: 0, FUZZING: 1, FINISHED: 2 } as const;

/** Parent → worker: load the target (always the first message). */
export interface InitRequest {
  readonly t: 'init';
  /** Path of the libFuzzer-ABI shared library. */
  readonly target: string;
}

/** Parent → worker: run every input of a batch, in order. */
export interface RunRequest {
  readonly t: 'run';
  /** Batch id, echoed in the reply. */
  readonly id: number;
  /** All inputs, back to back. */
  readonly data: Uint8Array;
  /** `ends[i]` is the end offset of input i in `data` (input i starts at `ends[i-1]`, or 0). */
  readonly ends: Uint32Array;
}

/**
 * Parent → worker: generate and run inputs `start .. start + count - 1` of the search with `seed`
 * over the input space `params` (fast-check run `i` is input `i`), stopping after `timeMs` when
 * it is above 0.
 */
export interface FuzzRequest {
  readonly t: 'fuzz';
  readonly seed: number;
  readonly params: InputParams;
  readonly start: number;
  readonly count: number;
  readonly timeMs: number;
}

/** Anything the parent sends. */
export type WorkerRequest = InitRequest | RunRequest | FuzzRequest;

/** Worker → parent: the target is loaded (`initialize` is LLVMFuzzerInitialize's result, if any). */
export interface ReadyReply {
  readonly t: 'ready';
  readonly initialize: number | null;
}

/** Worker → parent: the target cannot be loaded; the worker exits after sending this. */
export interface LoadErrorReply {
  readonly t: 'load-error';
  readonly message: string;
}

/** Worker → parent: every input of batch `id` ran and returned. */
export interface DoneReply {
  readonly t: 'done';
  readonly id: number;
  /** Number of inputs run. */
  readonly count: number;
}

/** Worker → parent: the fuzz request ended without a failure; `next` is the first index not run. */
export interface FuzzDoneReply {
  readonly t: 'fuzz-done';
  readonly next: number;
}

/** Anything the worker sends. */
export type WorkerReply = ReadyReply | LoadErrorReply | DoneReply | FuzzDoneReply;

/** Packs inputs into one {@link RunRequest} body. */
export function packBatch(inputs: readonly Uint8Array[]): { data: Uint8Array; ends: Uint32Array } {
  let total = 0;
  for (const x of inputs) total += x.byteLength;
  const data = new Uint8Array(total);
  const ends = new Uint32Array(inputs.length);
  let off = 0;
  inputs.forEach((x, i) => {
    data.set(x, off);
    off += x.byteLength;
    ends[i] = off;
  });
  return { data, ends };
}

/**
 * Messages between the FFI fuzzer (parent) and its worker (the child process that loads the
 * target). Inputs travel in batches packed into one byte array plus end offsets, so one IPC round
 * trip (about 50–100 µs) carries hundreds of executions. The channel uses Node's `advanced`
 * serialization, which copies typed arrays as bytes instead of JSON number lists.
 * @module
 */

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

/** Anything the parent sends. */
export type WorkerRequest = InitRequest | RunRequest;

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

/** Anything the worker sends. */
export type WorkerReply = ReadyReply | LoadErrorReply | DoneReply;

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

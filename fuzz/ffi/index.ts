/**
 * In-process fuzzing of libFuzzer-ABI shared libraries (`vhostlab fuzz ffi`): the runner, its
 * worker process management, input spaces and replay of `ffi` reproducers.
 * @module
 */
export { fuzzFfi, childOptionsFor, readCorpus } from './runner.js';
export type { FfiFuzzOptions, FfiFuzzResult, FfiFinding, FfiProgress } from './runner.js';
export { replayFfi } from './replay.js';
export type { FfiReplayOptions, FfiReplayResult } from './replay.js';
export { InputMode, inputSpace, inputSpaceFromParams, describeStream, bytesArbitrary, BytesArbitrary, DEFAULT_INPUT_PARAMS } from './inputs.js';
export type { InputModeValue, InputParams, InputSpace } from './inputs.js';
export { TargetChild, FfiTargetLoadError, isFfiTargetLoadError, FfiErrorCode, workerScript } from './child.js';
export type { BatchVerdict, ChildOptions } from './child.js';
export { classifyEnd } from './failure.js';
export type { ClassifiedFailure, WorkerEnd } from './failure.js';
export { isAsanLibrary, findAsanRuntime, AsanRuntimeError } from './asan.js';

/**
 * In-process fuzzing of libFuzzer-ABI shared libraries (`vhostlab fuzz ffi`): the runner, its
 * worker process management, input spaces and replay of `ffi` reproducers.
 * @module
 */
export { fuzzFfi, childOptionsFor, readCorpus } from './runner.js';
export type { FfiFuzzOptions, FfiFuzzResult, FfiFinding, FfiProgress } from './runner.js';
export { replayFfi } from './replay.js';
export type { FfiReplayOptions, FfiReplayResult } from './replay.js';
export { InputMode, InputGenerator, inputSpace, inputSpaceFromParams, inputAt, describeStream, bytesArbitrary, BytesArbitrary, DEFAULT_INPUT_PARAMS } from './inputs.js';
export type { InputModeValue, InputGeneratorValue, InputOverrides, InputParams, InputSpace } from './inputs.js';
export { ChoiceArbitrary } from './choice-arbitrary.js';
export type { ChoiceGenerator } from './choice-arbitrary.js';
export { Choices, shrinkChoices } from './choices.js';
export type { ChoiceRecord } from './choices.js';
export { bytesGenerator } from './bytes-generator.js';
export { streamGenerator } from './stream-generator.js';
export type { StreamGeneratorOptions } from './stream-generator.js';
export { IndexedRandom, indexedRandom, RunRandom, biasFactorOf, normalizeSeed } from './indexed-random.js';
export { TargetChild, FfiTargetLoadError, isFfiTargetLoadError, FfiErrorCode, workerScript } from './child.js';
export type { BatchVerdict, ChildOptions, FuzzRange, FuzzVerdict } from './child.js';
export { classifyEnd } from './failure.js';
export type { ClassifiedFailure, WorkerEnd } from './failure.js';
export { isAsanLibrary, findAsanRuntime, AsanRuntimeError } from './asan.js';

/**
 * Reproducer files (`vhostlab.repro/v1`) shared by every fuzzer, and replay dispatch by kind.
 * @module
 */
export { REPRO_SCHEMA, ReproKind, makeRepro, writeRepro, readRepro, checkRepro, reproBytes, toolVersion } from './repro.js';
export type { Repro, ReproKindValue, ReproMessage, ReproInput, ReproFailure, NewRepro } from './repro.js';
export { ReproFormatError, ReproErrorCode, isReproFormatError } from './errors.js';

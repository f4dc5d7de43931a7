/** Shared verifiers for conformance cases: observations, expected-vs-actual checks, fd-leak probes. */
export * from './observe.js';
export * from './verify.js';
export * from './fd-probe.js';

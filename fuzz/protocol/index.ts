/** `vhostlab fuzz protocol`: the fuzzer, the step runner and the reproducer replay. */
export * from './fuzz-protocol.js';
export * from './replay.js';
export * from './run-steps.js';
export * from './script.js';
export * from './connection-sink.js';

/**
 * fast-check arbitraries for vhost-user fuzzing (DESIGN "fuzz/"), derived from the wire model's
 * request table: every front-end message valid and subtly invalid, memory layouts, descriptor
 * chains and ring states, disconnect points, and the model-based command set.
 * @module
 */
export * from './step.js';
export * from './header.js';
export * from './mutation.js';
export * from './features.js';
export * from './vring-state.js';
export * from './vring-fd.js';
export * from './vring-addr.js';
export * from './memory-layout.js';
export * from './other-payloads.js';
export * from './request.js';
export * from './session-model.js';
export * from './commands.js';
export * from './descriptor-chain.js';
export * from './disconnect-point.js';
export { messageStream, encodeStream, streamMessages, addrRef, resolveAddr, SETUP_REQUESTS } from './message-stream.js';
export type { MessageStream, MessageStreamConstraints, StreamMessage, AddrRef } from './message-stream.js';

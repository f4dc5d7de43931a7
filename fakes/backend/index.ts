/**
 * The reference vhost-user back-end (DESIGN "fakes/backend"): a table-driven dispatcher that owns
 * REPLY_ACK, devices behind a small interface (net loopback first), a ring engine, listen and
 * connect modes, and pre/post hooks for fault injection and strict checking. This barrel only
 * re-exports.
 * @module
 */
export * from './result.js';
export * from './hooks.js';
export * from './device.js';
export * from './features.js';
export * from './session-state.js';
export * from './fd-bag.js';
export * from './dirty-log.js';
export * from './inflight.js';
export * from './active-queue.js';
export * from './ring-control.js';
export * from './ring-engine.js';
export * from './dispatcher.js';
export * from './net-loopback.js';
export * from './session.js';
export * from './server.js';
export * from './client.js';
export * from './faults/index.js';
export * from './strict/index.js';
export { HANDLERS } from './handlers/index.js';
export type { Handler, HandlerContext } from './handlers/index.js';

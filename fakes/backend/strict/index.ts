/**
 * Strict checking of the front-end (`vhostlab backend --strict --violations FILE`). This barrel
 * only re-exports.
 * @module
 */
export * from './strict-hooks.js';
export * from './message-order.js';
export * from './ownership.js';
export * from './event-suppression.js';
export * from './violation-log.js';

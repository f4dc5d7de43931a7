/**
 * Fault injection for the reference back-end: the registry and the fault type. This barrel only
 * re-exports.
 * @module
 */
export * from './fault.js';
export * from './registry.js';

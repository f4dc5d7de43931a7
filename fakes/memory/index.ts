/**
 * Guest memory: the {@link GuestMemory} interface and its ArrayBuffer, memfd (front-end) and
 * received-fd (back-end) implementations, plus a bump allocator.
 * @module
 */

export * from './guest-memory.js';
export * from './region-table.js';
export * from './array-guest-memory.js';
export * from './memfd-guest-memory.js';
export * from './mapped-guest-memory.js';
export * from './allocator.js';

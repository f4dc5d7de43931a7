/**
 * Virtqueues (virtio 1.2 §2.7 split, §2.8 packed): driver and device sides, bounded chain
 * walking, descriptor lifetime tracking. This barrel only re-exports.
 * @module
 */

export * from './chain.js';
export * from './lifetime-tracker.js';
export * from './split-driver.js';
export * from './queue-config.js';
export * from './chain-walker.js';
export * from './split-device.js';
export * from './packed-device.js';
export * from './packed-driver.js';

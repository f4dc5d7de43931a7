/** `vhostlab fuzz reconnect`: scenarios, the loop device, the scenario runner and the campaign. */
export * from './scenario.js';
export * from './cutting-session.js';
export * from './loop-device.js';
export * from './run-scenario.js';
export * from './fuzz-reconnect.js';

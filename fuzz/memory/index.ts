/** `vhostlab fuzz memory`: scenarios, the scenario runner and the campaign. */
export * from './scenario.js';
export * from './run-memory.js';
export * from './fuzz-memory.js';

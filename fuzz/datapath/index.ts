/** `vhostlab fuzz datapath`: scenarios, the scenario runner and the campaign. */
export * from './scenario.js';
export * from './run-datapath.js';
export { PackedNotOfferedError } from './run-packed.js';
export * from './fuzz-datapath.js';

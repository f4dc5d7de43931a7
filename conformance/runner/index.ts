/** The conformance runner: targets, selection, expectations, time limits, results. */
export * from './target.js';
export * from './peer-target.js';
export * from './select.js';
export * from './expectations.js';
export * from './time-limit.js';
export * from './case-context.js';
export * from './run-suite.js';
export * from './document.js';

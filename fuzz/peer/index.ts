/** Peers the live fuzzers drive: the interface, a process started from a profile, the offer probe. */
export * from './fuzz-peer.js';
export * from './process-peer.js';
export * from './probe-offer.js';

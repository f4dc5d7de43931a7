/** The QEMU-side front-end fake: session, start sequence, net device, probe and traffic. */
export * from './session.js';
export * from './start.js';
export * from './inflight-area.js';
export * from './probe.js';
export * from './net-device.js';
export * from './traffic/frame.js';
export * from './traffic/run-traffic.js';
